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
from app.workflow.messages import (
    TIMELINE_PREVIEW_CHARS,  # noqa: F401 - re-exported for the screen and tests
    TimelineItem,
)
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
        self._drawn_width = 0  # the width the body lines were wrapped to (0: not wrapped here)

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

    def on_resize(self) -> None:
        """Wrapped to another width: wrap again, so every line keeps its bar."""
        if self.items and self._wrap_width() != self._drawn_width:
            self.query_one("#timeline-body", Static).update(self.render_items(self.items))

    def _wrap_width(self) -> int:
        """Columns a body line may take after its bar (room kept for the scrollbar)."""
        return max(0, self.content_region.width - self.styles.scrollbar_size_vertical - 2)

    def _rows(self, line: Text) -> list[Text]:
        """`line` as the rows it takes on screen: wrapped here, not by the Static,
        so that each row starts with the item's bar (which kind of text it is)."""
        width = self._drawn_width
        if width < 10 or line.cell_len <= width:
            return [line]
        return list(line.wrap(self.app.console, width, overflow="fold"))

    @staticmethod
    def _body(item: TimelineItem) -> list[Text]:
        """A message's lines under its heading: subject, body, what is not shown."""
        lines = []
        if item.subject:
            lines.append(Text(inert(item.subject, single_line=True), style="italic"))
        body, hidden = preview_lines(item.text, item.hidden_chars)
        lines += [Text(line) for line in body]
        if hidden:
            lines.append(Text(hidden, style="italic"))
        return lines

    def render_items(self, items: list) -> Text:
        self._first_customer_line = None
        self._drawn_width = self._wrap_width()
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
            head = Text.assemble((when(item.at, self.tz), "bold"), "  ")
            label = KIND_LABEL.get(kind, kind.upper())
            if label:
                head.append(label + "  ", style="bold")
            head.append(inert(item.actor or "system", single_line=True))
            if kind == "outbound" and item.delivery:
                head.append(f"  ({delivery(item.delivery)})")
            if kind == "event":
                head.append("  " + inert(item.text, single_line=True))
            lines = [head]
            if kind != "event":
                lines += self._body(item)
            for line in lines:
                for part in self._rows(line):
                    row = Text.assemble(bar, part)
                    row.stylize(styles[kind])
                    out.append_text(row)
                    out.append("\n")
        out.rstrip()
        return out
