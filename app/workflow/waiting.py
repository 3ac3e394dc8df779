"""Waiting on the customer: pausing and resuming a ticket's running clock.

Reusable by every workflow (refunds pause their review clock). Complaint and
escalation clocks do NOT pause (see app/workflow/complaints.py). The caller
has locked the ticket and touches it afterwards.

pause: `paused_since = now`, event "pause". resume: the governing clock's
deadline moves later by the business days spent waiting
(app.sla_clocks.resume_due, the same rule app.deadlines uses on a calendar
change), `paused_since = None`, event "resume" with before/after.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app import history
from app.business_calendar import BusinessCalendar
from app.clocks import DUE_FIELD, governing_clock
from app.errors import IllegalTransition
from app.identity import Actor
from app.sla_clocks import resume_due
from app.workflow.guard import refresh_due
from models import Ticket, stored_id


def _login(actor: Actor | str | None) -> str | None:
    return actor.login if isinstance(actor, Actor) else actor


def pause(session: Session, ticket: Ticket, actor: Actor | str | None, now: datetime, reason: str) -> None:
    if ticket.paused_since is not None:
        raise IllegalTransition(
            f"{ticket.reference} is already waiting on the customer since {ticket.paused_since.isoformat(timespec='minutes')}"
        )
    ticket.paused_since = now
    clock = governing_clock(ticket)[0]
    history.record(
        session,
        stored_id(ticket),
        _login(actor),
        "pause",
        now,
        ticket.status,
        ticket.status,
        reason=reason,
        clock=clock.value if clock else None,
    )


def resume(
    session: Session, ticket: Ticket, now: datetime, cal: BusinessCalendar, actor: Actor | str | None = None
) -> datetime | None:
    """Resume a paused ticket; returns the new deadline (None when the
    ticket was not paused or no clock with a deadline runs)."""
    if ticket.paused_since is None:
        return None
    paused_from = ticket.paused_since
    clock, _start, due, stopped = governing_clock(ticket)
    new_due = None
    detail: dict[str, object] = {"paused_from": paused_from}
    if clock is not None and due is not None and stopped is None:
        new_due = resume_due(cal, due, paused_from, now)
        setattr(ticket, DUE_FIELD[clock], new_due)
        detail.update(clock=clock.value, before=due, after=new_due)
    ticket.paused_since = None
    history.record(session, stored_id(ticket), _login(actor), "resume", now, ticket.status, ticket.status, **detail)
    refresh_due(ticket)
    return new_due
