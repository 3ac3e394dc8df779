"""A huge message costs the console only its preview: the timeline reads at
most TIMELINE_PREVIEW_CHARS of a body from the database and says how much it
does not show; `ticket show` still gives the whole text."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from app.cli.main import main
from console_helpers import make_app, open_by_filter
from models import Message, Ticket
from widgets.timeline import TIMELINE_PREVIEW_CHARS, TIMELINE_PREVIEW_LINES, preview_lines

BIG = 12_000_000  # characters (the mail was 30 MB; this keeps the test quick)


def _plant_long_body(desk) -> str:
    with desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.kind == "complaint").order_by(Ticket.id)).first()
        m = s.scalars(select(Message).where(Message.ticket_id == t.id, Message.kind == "inbound")).first()
        m.body = ("Line of a very long complaint about roaming. " * 20 + "\n") * (BIG // 921)
        return t.reference


def test_timeline_reads_only_the_preview(demo_desk):
    from app.workflow.messages import timeline

    reference = _plant_long_body(demo_desk)
    with demo_desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == reference)).one()
        items = [i for i in timeline(s, t.id, body_limit=TIMELINE_PREVIEW_CHARS) if i.kind == "inbound"]
        full = s.scalar(select(Message.body).where(Message.id == items[0].ref_id))
    item = items[0]
    assert len(item.text) <= TIMELINE_PREVIEW_CHARS
    assert item.hidden_chars == len(full) - TIMELINE_PREVIEW_CHARS
    lines, note = preview_lines(item.text, item.hidden_chars)
    assert len(lines) <= TIMELINE_PREVIEW_LINES
    assert note is not None and "more characters not shown" in note
    hidden = int(note.split()[1].replace(",", ""))
    assert hidden >= item.hidden_chars and hidden + sum(len(x) for x in lines) >= len(full) - len(lines) - 1


def test_short_bodies_are_whole_and_have_no_note():
    lines, note = preview_lines("one\ntwo")
    assert lines == ["one", "two"] and note is None


async def test_console_opens_a_huge_message_quickly(demo_desk):
    reference = _plant_long_body(demo_desk)
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        started = time.monotonic()
        await open_by_filter(pilot, reference)
        opened = time.monotonic() - started
        assert app.screen.reference == reference
        from widgets.timeline import Timeline

        timeline = app.screen.query_one(Timeline)
        drawn = str(timeline.render_items(timeline.items))
        assert "more characters not shown here" in drawn
        assert len(drawn) < TIMELINE_PREVIEW_CHARS * 2
        started = time.monotonic()
        await pilot.press("escape")
        await pilot.pause()
        back = time.monotonic() - started
    assert opened < 10 and back < 3, (opened, back)  # was ~25 s and ~28 s with the whole 30 MB body


def test_ticket_show_still_gives_the_whole_text(demo_desk, capsys):
    reference = _plant_long_body(demo_desk)
    assert main(["--db", demo_desk.url, "ticket", "show", reference]) == 0
    out = json.loads(capsys.readouterr().out)
    assert max(len(i["text"] or "") for i in out["timeline"]) > BIG * 0.9
