"""Drafts: what a staff member is writing for a ticket, kept while it is typed.

One draft per ticket, person and kind (a note, a reply, ...). The console
saves it a moment after each change and deletes it once the text is sent or
saved, so a closed prompt, a dropped SSH connection or a killed console
loses at most the last second of typing. The session functions take a
caller's session; `DraftStore` runs each call in its own transaction (for a
console worker thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.db import Desk
from models import Draft

KINDS_MAX = 32  # length of Draft.kind


@dataclass(frozen=True)
class DraftKey:
    """Whose draft of what: the ticket, the staff member, the kind of text."""

    ticket_id: int
    staff_id: int
    kind: str

    def __post_init__(self) -> None:
        if not self.kind or len(self.kind) > KINDS_MAX:
            raise ValueError(f"draft kind must be 1-{KINDS_MAX} characters")


def _where(key: DraftKey) -> tuple[ColumnElement[bool], ...]:
    return (col(Draft.ticket_id) == key.ticket_id, col(Draft.staff_id) == key.staff_id, col(Draft.kind) == key.kind)


def get(session: Session, key: DraftKey) -> str | None:
    """The stored text of `key`'s draft, or None."""
    return session.scalar(select(col(Draft.body)).where(*_where(key)))


def put(session: Session, key: DraftKey, body: str, now: datetime) -> None:
    """Store `body` as `key`'s draft (an empty or blank body deletes it)."""
    if not body.strip():
        discard(session, key)
        return
    done = cast(
        "CursorResult[Any]", session.execute(update(Draft).where(*_where(key)).values(body=body, updated_at=now))
    )
    if done.rowcount:
        return
    try:
        with session.begin_nested():
            session.add(Draft(ticket_id=key.ticket_id, staff_id=key.staff_id, kind=key.kind, body=body, updated_at=now))
    except IntegrityError:  # the same person's other console inserted it meanwhile
        session.execute(update(Draft).where(*_where(key)).values(body=body, updated_at=now))


def discard(session: Session, key: DraftKey) -> None:
    """Delete `key`'s draft (sent, saved or thrown away)."""
    session.execute(delete(Draft).where(*_where(key)))


class DraftStore:
    """The draft functions, each in its own transaction on `desk`."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def load(self, key: DraftKey) -> str | None:
        with self.desk.reader() as s:
            return get(s, key)

    def save(self, key: DraftKey, body: str, now: datetime) -> None:
        with self.desk.session() as s:
            put(s, key, body, now)

    def discard(self, key: DraftKey) -> None:
        with self.desk.session() as s:
            discard(s, key)


__all__ = ["DraftKey", "DraftStore", "discard", "get", "put"]
