"""The ticket's header: reference, kind, status, people, and every clock as
a live countdown with its due date (desk time)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from app.untrusted import inert
from widgets.countdown import Countdown


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
    return out


class TicketHeader(Vertical):
    """Header block of the ticket detail screen."""

    def __init__(self, ticket, *, customer: str, assignee: str | None, reviewer: str | None,
                 now: Callable[[], datetime], tz: ZoneInfo, share: float, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ticket, self.customer, self.assignee, self.reviewer = ticket, customer, assignee, reviewer
        self.now, self.tz, self.share = now, tz, share

    def compose(self) -> ComposeResult:
        t = self.ticket
        line = Text()
        line.append(t.reference, style="bold")
        line.append(f"  {t.kind}  ·  {t.status.replace('_', ' ')}")
        if t.close_reason:
            line.append(f" ({t.close_reason.replace('_', ' ')})")
        if t.priority == 1:
            line.append("  ·  HIGH PRIORITY", style="bold")
        line.append(f"  ·  assignee: {self.assignee or '—'}")
        if t.kind == "escalation":
            line.append(f"  ·  reviewer: {self.reviewer or '—'}")
        if t.paused_since:
            line.append(f"  ·  waiting on customer since {due_text(t.paused_since, self.tz)}")
        yield Static(line, id="header-line", markup=False)
        subject = Text(inert(t.subject, limit=200, single_line=True) or "(no subject)")
        subject.append(f"  —  {inert(self.customer, limit=80, single_line=True)}", style="italic")
        yield Static(subject, id="header-subject", markup=False)
        with Horizontal(id="header-clocks"):
            clocks = clocks_of(t)
            if not clocks:
                yield Static("no clock running", classes="muted", markup=False)
            for label, start, due, stopped in clocks:
                yield Countdown(label, start, due, self.now, stopped=stopped, paused=t.paused_since,
                                due_text=due_text(due, self.tz), share=self.share)
