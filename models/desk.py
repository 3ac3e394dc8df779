"""Desk-wide bookkeeping: settings, reference counters and console presence."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class DeskSetting(SQLModel, table=True):
    """Key/value facts about this desk's database (e.g. `demo` = `true`)."""

    __tablename__ = "desk_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: str = ""


class ReferenceCounter(SQLModel, table=True):
    """The last sequence number issued per reference prefix and year."""

    __tablename__ = "reference_counter"

    prefix: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last: int = 0


class Presence(SQLModel, table=True):
    """Which console session has which ticket open; expires without heartbeat."""

    __tablename__ = "presence"

    session_id: str = Field(primary_key=True, max_length=64)
    login: str = Field(max_length=64)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    heartbeat_at: datetime = Field(index=True)
