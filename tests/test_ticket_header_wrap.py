"""The ticket header never crops: a refund's three clocks, or a long first
line, wrap between their parts when the screen is too narrow for one line
(seen at 160 columns: "Decision to customer: BREACHED 5d (due Wed 25 Nov 2026
23:5" and the rest cut off)."""

from __future__ import annotations

import pytest
from rich.text import Text

from console_helpers import find_ticket, make_app, open_by_filter
from widgets.ticket_header import TicketHeader, packed


@pytest.mark.parametrize("size", [(160, 50), (130, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_refund_header_shows_every_clock_whole(demo_desk, size):
    t = find_ticket(demo_desk, kind="refund", status="decided")
    app = make_app(demo_desk)
    async with app.run_test(size=size) as pilot:
        await open_by_filter(pilot, t.reference)
        header = app.screen.query_one(TicketHeader)
        lines = header.render().plain.split("\n")
        width = header.content_size.width
        assert header.ticket is not None and header.ticket.reference == t.reference
        assert all(len(line) <= width for line in lines), lines
        assert header.content_size.height == len(lines)  # every line drawn, none cut off below
        shown = "\n".join(lines)
        for label in ("Acknowledge:", "Refund review:", "Decision to customer:"):
            assert label in shown
        assert shown.count("(due ") == 3 and shown.rstrip().endswith(")")


def test_parts_wrap_only_between_parts():
    parts = [Text("RFD-1  refund request"), Text("decided"), Text("assignee: farid")]
    assert packed(parts, Text("  ·  "), 0).plain == "RFD-1  refund request  ·  decided  ·  assignee: farid"
    assert packed(parts, Text("  ·  "), 40).plain == "RFD-1  refund request  ·  decided\nassignee: farid"
    assert packed(parts, Text("  ·  "), 5).plain == "RFD-1  refund request\ndecided\nassignee: farid"


async def test_a_subject_too_long_for_the_line_ends_with_an_ellipsis(demo_desk):
    """Nothing else in the header can wrap; a cut subject says it was cut."""
    from sqlmodel import select

    from models import Ticket

    t = find_ticket(demo_desk, kind="complaint", status="acknowledged")
    with demo_desk.session() as s:
        row = s.exec(select(Ticket).where(Ticket.id == t.id)).one()
        row.subject = "My eSIM stopped working on the second day of my trip " * 3
        s.add(row)
        s.commit()
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_by_filter(pilot, t.reference)
        header = app.screen.query_one(TicketHeader)
        drawn = [header.render_line(y).text for y in range(header.size.height)]
        painted = next(line for line in drawn if line.startswith("My eSIM stopped working"))
        assert painted.rstrip().endswith("…"), drawn
