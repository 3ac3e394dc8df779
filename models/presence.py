"""Console presence: which console session has which ticket open."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models import ticket  # noqa: F401 - the tables its foreign keys name, defined first (models/__init__.py)


class Presence(SQLModel, table=True):
    """Which console session has which ticket open; expires without heartbeat."""

    __tablename__ = "presence"

    session_id: str = Field(primary_key=True, max_length=64)
    login: str = Field(max_length=64)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    heartbeat_at: datetime = Field(index=True)
