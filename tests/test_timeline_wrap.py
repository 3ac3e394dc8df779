"""A ticket's timeline wraps its long lines itself, so every row of a message
keeps the bar that says whose text it is (customer, reply, internal note), and
wraps again when its width changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from textual.app import App, ComposeResult

from app.workflow.messages import TimelineItem
from widgets.timeline import Timeline

LONG = "the profile was never downloaded, so the customer was asked to scan the code again on Wi-Fi " * 3
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class _One(App[None]):
    def compose(self) -> ComposeResult:
        yield Timeline(ZoneInfo("Europe/Tallinn"), id="tl")


def _rows_of(timeline: Timeline) -> list[str]:
    return timeline.render_items(timeline.items).plain.split("\n")


async def test_every_row_of_a_wrapped_message_keeps_its_bar():
    app = _One()
    async with app.run_test(size=(60, 30)) as pilot:
        timeline = app.query_one(Timeline)
        items = [
            TimelineItem(kind="note", actor="alice", at=AT, text=LONG),
            TimelineItem(kind="event", actor="bob", at=AT, text="moved · acknowledged → investigating " * 3),
        ]
        timeline.show(items)
        await pilot.pause()
        rows = _rows_of(timeline)
        note_rows = rows[: rows.index("")]
        assert len(note_rows) > 3  # the note took several rows at this width
        assert all(row.startswith("▌ ") for row in note_rows), note_rows
        assert all(len(row) <= 60 for row in rows)
        event_rows = rows[rows.index("") + 1 :]
        assert len(event_rows) > 1 and all(row.startswith("  ") for row in event_rows[1:])
        # the words are all there, in order
        body = " ".join(row[2:].strip() for row in note_rows[1:])
        assert " ".join(body.split()) == " ".join(LONG.split())

        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        wider = _rows_of(timeline)
        assert len(wider[: wider.index("")]) < len(note_rows)
        drawn = str(timeline.query_one("#timeline-body").render())
        assert drawn.split("\n") == wider  # what is on screen was wrapped again to the new width
