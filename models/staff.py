"""Staff members: the people who work the desk, identified by OS login."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.enums import Role


class Staff(SQLModel, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    role: str = Field(default=Role.AGENT.value, max_length=16)
    email: str | None = Field(default=None, max_length=320)
    active: bool = True
    created_at: datetime
