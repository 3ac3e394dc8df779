"""What each staff member has seen of a ticket's customer mail (unread markers)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models import staff, ticket  # noqa: F401 - the tables its foreign keys name, defined first (models/__init__.py)


class TicketSeen(SQLModel, table=True):
    __tablename__ = "ticket_seen"

    staff_id: int = Field(foreign_key="staff.id", primary_key=True, ondelete="CASCADE")
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True, ondelete="CASCADE")
    message_id: int = 0  # the newest inbound message of the ticket when the person last had it open
    seen_at: datetime
