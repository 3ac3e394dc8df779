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
from app.sla_clocks import DEFAULT_AT_RISK_SHARE
from app.untrusted import inert
from widgets.countdown import STATE_CLASS, countdown_words, row_state

CLOCK_GAP = "   "  # the space between clocks on one line
GAP_STYLE = Style(meta={"gap": True})  # its own span, as the clock widgets' margin was


def due_text(due: datetime | None, tz: ZoneInfo) -> str:
    return due.astimezone(tz).strftime("%a %d %b %Y %H:%M") if due else ""


def clocks_of(t) -> list[tuple[str, datetime | None, datetime | None, datetime | None]]:
    """(label, start, due, stopped) for each clock the ticket has started."""
    out = []
    if t.ack_due_at:
        out.append(("Acknowledge", t.received_at, t.ack_due_at, t.acknowledged_at))
    if t.resolution_due_at:
        out.append(("Resolution", t.acknowledged_at, t.resolution_due_at, t.resolution_communicated_at))
    if t.final_response_due_at:
        out.append(("Final response", t.received_at, t.final_response_due_at, t.final_response_at))
    if t.review_due_at:
        out.append(("Refund review", t.received_at, t.review_due_at, t.decided_at))
    if t.due_clock == "refund_initiation" and t.due_at:
        out.append(("Refund initiation", t.decided_at, t.due_at, None))
    if t.due_clock == "refund_decision" and t.due_at:
        out.append(("Decision to customer", t.received_at, t.due_at, None))
    if t.due_clock == "refund_in_account" and t.due_at:
        out.append(("Refund in account", t.decided_at, t.due_at, None))
    return out


class TicketHeader(Widget):
    """Header block of the ticket detail screen (clocks one line each when the
    screen is narrow, side by side otherwise)."""

    COMPONENT_CLASSES = {"countdown--" + c for c in STATE_CLASS.values()} | {"header--muted", "header--subject"}

    def __init__(self, *, now: Callable[[], datetime], tz: ZoneInfo, share: float = DEFAULT_AT_RISK_SHARE,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.now, self.tz, self.share = now, tz, share
        self.ticket = None
        self.reference = ""
        self.customer = ""
        self.assignee: str | None = None
        self.reviewer: str | None = None
        self._line = Text()
        self._subject = Text()
        self._clocks: list[tuple[str, datetime | None, datetime | None, datetime | None]] = []
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
        self._clocks = clocks_of(t)
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
        return any(due is not None and stopped is None for _l, _s, due, stopped in self._clocks)

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

    def _clock(self, label, start, due, stopped, now) -> Text:
        t = self.ticket
        state = row_state(start, due, now, stopped, t.paused_since, self.share)
        words = countdown_words(due, now, state, t.paused_since)
        style = self.get_component_rich_style("countdown--" + STATE_CLASS[state], partial=True) if state else ""
        text = Text(f"{label}: ")
        text.append(words, style=style)
        if due:
            text.append(f"  (due {due_text(due, self.tz)})")
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
        now = self.now()
        sep = Text("\n") if self._is_narrow() else Text(CLOCK_GAP, style=GAP_STYLE)
        out.append_text(sep.join(self._clock(*c, now) for c in self._clocks))
        return out
