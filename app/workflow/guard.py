"""What every mutating workflow service does around its change:
check the role, lock the ticket (optimistic locking), and afterwards bump the
version and point `due_at`/`due_clock` at the clock that governs the ticket.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlmodel import Session

from app import history, tickets
from app.clocks import governing_clock
from app.errors import AccessDenied, InputError
from app.identity import Actor
from models import Ticket, stored_id


def aware(now: datetime, name: str = "now") -> datetime:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InputError(f"{name} must be a timezone-aware date and time, got {now!r}")
    return now


def begin(
    session: Session,
    actor: Actor | None,
    reference: str,
    expected_version: int | None,
    permission: str,
    doing: str | None = None,
) -> Ticket:
    """Role check, then the ticket locked for this transaction (StaleTicket
    when `expected_version` is not the stored version)."""
    if actor is None:
        raise AccessDenied(f"{doing or permission.replace('_', ' ')} needs a staff member")
    actor.require(permission, doing)
    return tickets.lock(session, reference, expected_version)


def due_of(t: Ticket | SimpleNamespace) -> tuple[datetime | None, str | None]:  # a Ticket or its column values
    """(due_at, due_clock): the running governing clock's deadline, or (None,
    None) when no clock runs, the clock has stopped, or it has no stored deadline."""
    clock, _start, due, stopped = governing_clock(t)
    if clock is None or due is None or stopped is not None:
        return None, None
    return due, clock.value


def refresh_due(t: Ticket) -> None:
    """Point t.due_at/t.due_clock at the governing clock's deadline (`due_of`)."""
    t.due_at, t.due_clock = due_of(t)


def finish(t: Ticket, login: str | None, now: datetime) -> None:
    tickets.touch(t, login, now)
    refresh_due(t)


def refuse(
    session: Session,
    t: Ticket,
    login: str | None,
    now: datetime,
    reason: str,
    exc: type[Exception] = AccessDenied,
    **detail: object,
) -> None:
    """Record a refused attempt ("refused" event) and raise `exc(reason)`.

    The refusal is committed at once, so it survives the exception (the
    caller's session rolls back on error). It is the only write a refused
    call makes; the ticket itself is not changed (no version bump).
    """
    history.record(session, stored_id(t), login, "refused", now, t.status, t.status, reason=reason, **detail)
    session.commit()
    raise exc(reason)
