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
