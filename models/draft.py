"""Draft: the text a staff member is writing for a ticket (a reply, a note...),
kept as it is typed so a closed prompt, a dropped SSH link or a killed
console loses nothing. One row per ticket, person and kind; deleted once
the text is sent or saved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models import staff, ticket  # noqa: F401 - the tables its foreign keys name, defined first (models/__init__.py)


class Draft(SQLModel, table=True):
    __tablename__ = "draft"
    __table_args__ = (UniqueConstraint("ticket_id", "staff_id", "kind", name="uq_draft_ticket_staff_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    staff_id: int = Field(foreign_key="staff.id", index=True)
    kind: str = Field(max_length=32)  # the prompt: note, reply, request_info, propose...
    body: str
    updated_at: datetime
