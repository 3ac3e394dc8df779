"""A ticket's timeline: every event and message in time order, internal notes
visibly apart from what the customer sees (a coloured bar and label per
kind). Items come from app.workflow.timeline (already inert) and are drawn as
one plain Text (never markup), so a long history costs one widget."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from app.labels import delivery, local_time
from app.untrusted import inert
from app.workflow.messages import TIMELINE_PREVIEW_CHARS  # noqa: F401 - re-exported for the screen and tests
from widgets.section_text import SectionText

KIND_LABEL = {
    "inbound": "CUSTOMER",
    "outbound": "REPLY TO CUSTOMER",
    "note": "INTERNAL NOTE (not sent)",
    "automatic": "AUTOMATIC REPLY (a machine, not the customer)",
    "event": "",
}
KINDS = ("inbound", "outbound", "note", "automatic", "event")
# A long body shows TIMELINE_PREVIEW_CHARS (read from the database no further)
# or this many lines, then one line saying how much is hidden.
TIMELINE_PREVIEW_LINES = 300


def preview_lines(
    text: str, hidden_chars: int = 0, max_lines: int = TIMELINE_PREVIEW_LINES
) -> tuple[list[str], str | None]:
    """The lines of a body to draw, and the note about what is not drawn."""
    lines = inert(text).rstrip().split("\n")
    hidden_lines = max(0, len(lines) - max_lines)
    if hidden_lines:
        hidden_chars += sum(len(line) + 1 for line in lines[max_lines:])
        lines = lines[:max_lines]
    if not hidden_chars:
        return lines, None
    return lines, f"… {hidden_chars:,} more characters not shown here (the whole message: esimdesk ticket show)"


def when(at: datetime, tz: ZoneInfo) -> str:
    return local_time(at, tz)


class Timeline(VerticalScroll, can_focus=True):
    """Scrollable timeline (newest last)."""

    COMPONENT_CLASSES = {f"timeline--{k}" for k in KINDS} | {f"timeline--{k}-bar" for k in KINDS}

    def __init__(self, tz: ZoneInfo, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.items: list = []
        self._first_customer_line: int | None = None  # where render_items put the customer's first message

    def compose(self) -> ComposeResult:
        yield SectionText("loading…", id="timeline-body", markup=False)

    def show(self, items: list, loading: bool = False, at_first_customer: bool = False) -> None:
        """Replace the entries with `items` (app.workflow.TimelineItem);
        `loading`: show that they are being read instead; `at_first_customer`:
        scrolled to the customer's first message (a ticket just opened), else to the end."""
        self.items = items
        self.query_one("#timeline-body", Static).update(Text("loading…") if loading else self.render_items(items))
        line = self._first_customer_line
        if at_first_customer and line is not None:
            self.call_after_refresh(self.scroll_to, y=line, animate=False, immediate=True)
        else:
            self.call_after_refresh(self.scroll_end, animate=False)

    def render_items(self, items: list) -> Text:
        self._first_customer_line = None
        out = Text()
        if not items:
            out.append("nothing yet")
            return out
        styles = {k: self.get_component_rich_style(f"timeline--{k}", partial=True) for k in KINDS}
        bars = {k: self.get_component_rich_style(f"timeline--{k}-bar", partial=True) for k in KINDS}
        previous = None
        for item in items:
            kind = item.kind if item.kind in KINDS else "event"
            if previous is not None and (kind != "event" or previous != "event"):
                out.append("\n")
            previous = kind
            bar = ("  " if kind == "event" else "▌ ", bars[kind])
            if kind == "inbound" and self._first_customer_line is None:
                self._first_customer_line = out.plain.count("\n")
            head = Text.assemble(bar, (when(item.at, self.tz), "bold"), "  ")
            label = KIND_LABEL.get(kind, kind.upper())
            if label:
                head.append(label + "  ", style="bold")
            head.append(inert(item.actor or "system", single_line=True))
            if kind == "outbound" and item.delivery:
                head.append(f"  ({delivery(item.delivery)})")
            if kind == "event":
                head.append("  " + inert(item.text, single_line=True))
            head.stylize(styles[kind])
            out.append_text(head)
            out.append("\n")
            if kind == "event":
                continue
            lines = []
            if item.subject:
                lines.append(Text(inert(item.subject, single_line=True), style="italic"))
            body, hidden = preview_lines(item.text, getattr(item, "hidden_chars", 0))
            lines += [Text(line) for line in body]
            if hidden:
                lines.append(Text(hidden, style="italic"))
            for line in lines:
                row = Text.assemble(bar, line)
                row.stylize(styles[kind])
                out.append_text(row)
                out.append("\n")
        out.rstrip()
        return out
