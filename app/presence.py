"""Who else has a ticket open: console presence shared through the database.

Each console process has a session id and sends a heartbeat every few seconds
naming the ticket it shows (or none). A row whose heartbeat is older than the
time-to-live counts as gone (its console died or lost its connection) and is
deleted by the next heartbeat of any console.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from app.db import Desk
from app.errors import DeskError
from models import Presence

DEFAULT_TTL = timedelta(seconds=15)
HEARTBEAT_EVERY_SECONDS = 5.0


def new_session_id() -> str:
    """A fresh id for one console process."""
    return uuid.uuid4().hex


def heartbeat(
    session: Session, session_id: str, login: str, ticket_id: int | None, now: datetime, ttl: timedelta = DEFAULT_TTL
) -> None:
    """Record that `session_id` (staff `login`) is alive and shows `ticket_id`."""
    row = session.get(Presence, session_id)
    if row is None:
        session.add(Presence(session_id=session_id, login=login, ticket_id=ticket_id, heartbeat_at=now))
    else:
        row.login = login
        row.ticket_id = ticket_id
        row.heartbeat_at = now
    cleanup(session, now, ttl)


def cleanup(session: Session, now: datetime, ttl: timedelta = DEFAULT_TTL) -> int:
    """Delete expired rows (a dead console's presence); returns how many."""
    result = cast("CursorResult[Any]", session.execute(delete(Presence).where(col(Presence.heartbeat_at) < now - ttl)))
    return result.rowcount or 0


def who_else(
    session: Session, ticket_id: int, my_session_id: str | None, now: datetime, ttl: timedelta | float = DEFAULT_TTL
) -> list[str]:
    """Logins of the other live consoles showing `ticket_id`, sorted, distinct."""
    if not isinstance(ttl, timedelta):
        ttl = timedelta(seconds=float(ttl))
    stmt = (
        select(col(Presence.login))
        .where(col(Presence.ticket_id) == ticket_id, col(Presence.heartbeat_at) >= now - ttl)
        .distinct()
    )
    if my_session_id:
        stmt = stmt.where(col(Presence.session_id) != my_session_id)
    return sorted(r[0] for r in session.execute(stmt))


def visit(
    desk: Desk, session_id: str, actor_login: str, actor_id: int, ticket: int | str, now: datetime
) -> list[str] | None:
    """One beat of a console showing a ticket (its id, or its reference before
    it is read): record the presence, mark its customer mail seen by this
    person, and return who else has it open. None when the ticket is not
    there or the database failed: presence is best effort, and the next save
    says what is wrong."""
    from app import tickets
    from app.unread import mark_seen

    try:
        if isinstance(ticket, str):
            with desk.reader() as s:
                ticket = int(tickets.get(s, ticket).id or 0)
        with desk.session() as s:
            heartbeat(s, session_id, actor_login, ticket, now)
            mark_seen(s, actor_id, ticket, now)  # its customer mail is no longer new to this person
            return [o for o in who_else(s, ticket, session_id, now) if o]
    except (DeskError, SQLAlchemyError):
        return None


def drop(session: Session, session_id: str) -> None:
    """Forget a console's presence (on clean exit)."""
    session.execute(delete(Presence).where(col(Presence.session_id) == session_id))


__all__ = [
    "DEFAULT_TTL",
    "HEARTBEAT_EVERY_SECONDS",
    "cleanup",
    "drop",
    "heartbeat",
    "new_session_id",
    "visit",
    "who_else",
]
