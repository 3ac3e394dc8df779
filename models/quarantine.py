"""Mail that could not be ingested, kept byte for byte with the reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from models import ticket  # noqa: F401 - the tables its foreign keys name, defined first (models/__init__.py)
from models.enums import QuarantineState


class Quarantine(SQLModel, table=True):
    __tablename__ = "quarantine"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime
    source: str = Field(default="", max_length=1000)
    message_id: str | None = Field(default=None, max_length=998)
    dedupe_key: str | None = Field(default=None, max_length=64, unique=True)
    reason: str = Field(max_length=500)
    raw: bytes = Field(sa_type=LargeBinary)
    state: str = Field(default=QuarantineState.HELD.value, max_length=16, index=True)
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = None
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
