"""A ticket's timeline: every event and message in time order, internal notes
visibly apart from what the customer sees. Items come from
app.workflow.timeline (already inert) and are drawn as plain Text."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from app.untrusted import inert

KIND_LABEL = {
    "inbound": "CUSTOMER",
    "outbound": "REPLY TO CUSTOMER",
    "note": "INTERNAL NOTE (not sent)",
    "event": "",
}


def when(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


class TimelineEntry(Static):
    """One item; its CSS class says which kind (timeline--note, ...)."""


class Timeline(VerticalScroll, can_focus=True):
    """Scrollable list of timeline items (newest last)."""

    def __init__(self, tz: ZoneInfo, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz

    def compose(self) -> ComposeResult:
        yield Static("loading…", classes="timeline--empty", markup=False)

    def show(self, items: list) -> None:
        """Replace the entries with `items` (app.workflow.TimelineItem)."""
        self.remove_children()
        entries = [self._entry(i) for i in items] or [Static("nothing yet", classes="timeline--empty", markup=False)]
        self.mount_all(entries)
        self.call_after_refresh(self.scroll_end, animate=False)

    def _entry(self, item) -> Static:
        head = Text()
        head.append(when(item.at, self.tz), style="bold")
        head.append("  ")
        label = KIND_LABEL.get(item.kind, item.kind.upper())
        if label:
            head.append(label + "  ", style="bold")
        head.append(inert(item.actor or "system", single_line=True))
        if item.kind == "outbound" and item.delivery:
            head.append(f"  [{item.delivery}]")
        body = Text()
        if item.kind == "event":
            head.append("  " + inert(item.text, single_line=True))
        else:
            if item.subject:
                body.append(inert(item.subject, single_line=True) + "\n", style="italic")
            body.append(inert(item.text).rstrip())
        content = head if not body.plain else Text.assemble(head, "\n", body)
        return TimelineEntry(content, classes=f"timeline--{item.kind}", markup=False)
