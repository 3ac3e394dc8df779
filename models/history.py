"""TicketEvent: the append-only history of everything that happens to a ticket.

Nothing updates or deletes a row here: the database refuses it (a trigger
created by the migration) as well as the ORM (see app/history.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models import ticket  # noqa: F401 - the tables its foreign keys name, defined first (models/__init__.py)


class TicketEvent(SQLModel, table=True):
    __tablename__ = "ticket_event"
    __table_args__ = (
        Index("ix_ticket_event_ticket_at", "ticket_id", "at"),
        Index("ix_ticket_event_actor_ticket", "actor", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    at: datetime
    actor: str | None = Field(default=None, max_length=64)  # staff login; null = customer/system
    action: str = Field(max_length=32)  # created, status, note, reply, assign, extend, pause, resume, ...
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32)
    detail: str | None = None  # JSON: before/after values, reasons (no customer personal data)
