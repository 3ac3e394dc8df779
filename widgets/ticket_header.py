"""The ticket's header: reference, kind, status, people, and every clock as
a live countdown with its due date (desk time).

One widget draws it all as plain Text (never markup): the detail screen keeps
one header for its life and calls `show()` for each ticket, and `tick()` once
a second while it is on screen (no timer of its own, so a hidden header costs
nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget

from app import labels
from app.clocks import DEFAULT_AT_RISK_SHARE, ClockView, ticket_clocks, words
from app.untrusted import inert
from widgets.countdown import STATE_CLASS

CLOCK_GAP = "   "  # the space between clocks on one line
PART_GAP = "  ·  "  # between the first line's parts
GAP_STYLE = Style(meta={"gap": True})  # its own span, as the clock widgets' margin was


class TicketHeader(Widget):
    """Header block of the ticket detail screen (clocks one line each when the
    screen is narrow, side by side otherwise)."""

    COMPONENT_CLASSES = {"countdown--" + c for c in STATE_CLASS.values()} | {"header--muted", "header--subject"}

    def __init__(
        self, *, now: Callable[[], datetime], tz: ZoneInfo, share: float = DEFAULT_AT_RISK_SHARE, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.now, self.tz, self.share = now, tz, share
        self.ticket = None
        self.reference = ""
        self.customer = ""
        self.assignee: str | None = None
        self.reviewer: str | None = None
        self._line: list[Text] = []  # the first line's parts, wrapped between parts when too wide
        self._subject = Text()
        self._lines = 0  # lines drawn by the last render (a change asks for a new layout)
        self._width = 0  # the width the lines were last wrapped at
        self._clocks: list[ClockView] = []  # as of the last show(); render() takes them at its own now

    def show(self, ticket, *, customer: str = "", assignee: str | None = None, reviewer: str | None = None) -> None:
        """Show `ticket` (a detached Ticket)."""
        self.ticket, self.customer, self.assignee, self.reviewer = ticket, customer, assignee, reviewer
        self.reference = ticket.reference
        t = ticket
        head = Text()
        head.append(t.reference, style="bold")
        head.append(f"  {labels.kind(t.kind)}")
        status = Text(labels.status(t.status))
        if t.close_reason:
            status.append(f" ({t.close_reason.replace('_', ' ')})")
        parts = [head, status]
        if t.priority == 1:
            parts.append(Text("HIGH PRIORITY", style="bold"))
        parts.append(Text(f"assignee: {assignee or '—'}"))
        if t.kind == "escalation":
            parts.append(Text(f"reviewer: {reviewer or '—'}"))
        if t.paused_since:
            parts.append(Text(f"waiting on customer since {labels.local_time(t.paused_since, self.tz)}"))
        self._line = parts
        subject = Text(inert(t.subject, limit=200, single_line=True) or "(no subject)")
        subject.append(f"  —  {inert(customer, limit=80, single_line=True)}", style="italic")
        self._subject = subject
        self._clocks = ticket_clocks(t, self.now(), self.share)
        self.refresh(layout=True)

    def show_loading(self, reference: str) -> None:
        """Only the reference, while the ticket is read."""
        self.ticket, self.reference = None, reference
        self._line = [Text(f"{reference}  loading…")]
        self._subject = Text()
        self._clocks = []
        self.refresh(layout=True)

    @property
    def running(self) -> bool:
        """True when a clock is counting (the header needs a tick)."""
        return any(c.running for c in self._clocks)

    def tick(self) -> None:
        """Redraw the countdowns (the screen calls this once a second)."""
        if self.running:
            self.refresh()

    def _is_narrow(self) -> bool:
        screen = self.screen
        return screen.has_class("-narrow") if screen.has_class("-narrow", "-wide") else self.app.size.width < 120

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:  # the lines wrap at the new width (a new height alone changes nothing)
            self._width = event.size.width
            self.refresh(layout=True)

    def _clock(self, c: ClockView) -> Text:
        style = self.get_component_rich_style("countdown--" + STATE_CLASS[c.state], partial=True) if c.state else ""
        text = Text(f"{c.label}: ")
        text.append(words(c), style=style)
        if c.due:
            text.append(f"  (due {labels.local_time(c.due, self.tz)})")
        return text

    def render(self) -> Text:
        width = self.content_size.width
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        out.append_text(packed(self._line, Text(PART_GAP), width))
        if self.ticket is not None:
            out.append("\n")
            subject = self._subject.copy()
            subject.stylize_before(Style(color=self.get_component_rich_style("header--subject").color))
            out.append_text(subject)
            out.append("\n")
            if not self._clocks:
                out.append("no clock running", style=self.get_component_rich_style("header--muted", partial=True))
            else:
                clocks = [self._clock(c) for c in ticket_clocks(self.ticket, self.now(), self.share)]
                if self._is_narrow():
                    out.append_text(Text("\n").join(clocks))
                else:
                    out.append_text(packed(clocks, Text(CLOCK_GAP, style=GAP_STYLE), width))
        lines = out.plain.count("\n") + 1
        if lines != self._lines:
            if self._lines:  # a countdown's words grew past the width: a new height
                self.call_after_refresh(self.refresh, layout=True)
            self._lines = lines
        return out


def packed(parts: list[Text], gap: Text, width: int) -> Text:
    """`parts` joined by `gap`, starting a new line before a part that would
    pass `width` cells (0: one line, however long)."""
    out = Text()
    used = 0
    for i, part in enumerate(parts):
        if i and width and used + gap.cell_len + part.cell_len > width:
            out.append("\n")
            used = 0
        elif i:
            out.append_text(gap)
            used += gap.cell_len
        out.append_text(part)
        used += part.cell_len
    return out
