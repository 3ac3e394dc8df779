"""Desk-wide bookkeeping: settings and reference counters."""

from __future__ import annotations

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
