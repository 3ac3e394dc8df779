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
from textual.widget import Widget

from app import labels
from app.clocks import DEFAULT_AT_RISK_SHARE, ClockView, ticket_clocks, words
from app.untrusted import inert
from widgets.countdown import STATE_CLASS

CLOCK_GAP = "   "  # the space between clocks on one line
GAP_STYLE = Style(meta={"gap": True})  # its own span, as the clock widgets' margin was


def due_text(due: datetime | None, tz: ZoneInfo) -> str:
    return due.astimezone(tz).strftime("%a %d %b %Y %H:%M") if due else ""


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
        self._line = Text()
        self._subject = Text()
        self._clocks: list[ClockView] = []  # as of the last show(); render() takes them at its own now
        self._narrow: bool | None = None

    def show(self, ticket, *, customer: str = "", assignee: str | None = None, reviewer: str | None = None) -> None:
        """Show `ticket` (a detached Ticket)."""
        self.ticket, self.customer, self.assignee, self.reviewer = ticket, customer, assignee, reviewer
        self.reference = ticket.reference
        t = ticket
        line = Text()
        line.append(t.reference, style="bold")
        line.append(f"  {labels.kind(t.kind)}  ·  {labels.status(t.status)}")
        if t.close_reason:
            line.append(f" ({t.close_reason.replace('_', ' ')})")
        if t.priority == 1:
            line.append("  ·  HIGH PRIORITY", style="bold")
        line.append(f"  ·  assignee: {assignee or '—'}")
        if t.kind == "escalation":
            line.append(f"  ·  reviewer: {reviewer or '—'}")
        if t.paused_since:
            line.append(f"  ·  waiting on customer since {due_text(t.paused_since, self.tz)}")
        self._line = line
        subject = Text(inert(t.subject, limit=200, single_line=True) or "(no subject)")
        subject.append(f"  —  {inert(customer, limit=80, single_line=True)}", style="italic")
        self._subject = subject
        self._clocks = ticket_clocks(t, self.now(), self.share)
        self.refresh(layout=True)

    def show_loading(self, reference: str) -> None:
        """Only the reference, while the ticket is read."""
        self.ticket, self.reference = None, reference
        self._line = Text(f"{reference}  loading…")
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

    def on_resize(self) -> None:
        narrow = self._is_narrow()
        if narrow != self._narrow:
            self._narrow = narrow
            self.refresh(layout=True)

    def _clock(self, c: ClockView) -> Text:
        style = self.get_component_rich_style("countdown--" + STATE_CLASS[c.state], partial=True) if c.state else ""
        text = Text(f"{c.label}: ")
        text.append(words(c), style=style)
        if c.due:
            text.append(f"  (due {due_text(c.due, self.tz)})")
        return text

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="crop", end="")
        out.append_text(self._line)
        if self.ticket is None:
            return out
        out.append("\n")
        subject = self._subject.copy()
        subject.stylize_before(Style(color=self.get_component_rich_style("header--subject").color))
        out.append_text(subject)
        out.append("\n")
        if not self._clocks:
            out.append("no clock running", style=self.get_component_rich_style("header--muted", partial=True))
            return out
        sep = Text("\n") if self._is_narrow() else Text(CLOCK_GAP, style=GAP_STYLE)
        out.append_text(sep.join(self._clock(c) for c in ticket_clocks(self.ticket, self.now(), self.share)))
        return out
