"""Typed access where SQLModel leaves types loose: `table_of(Model)` (a table
model's SQLAlchemy `Table`) and `stored_id(row)` (a stored row's id, an int).

SQLModel sets `__table__` on every `table=True` class but does not declare it,
so `Ticket.__table__` is untyped; Core queries (`.c.column`, inserts) go through
this instead.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Table
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    table = model.__dict__.get("__table__")
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


class _HasId(Protocol):
    @property
    def id(self) -> int | None: ...


def stored_id(row: _HasId) -> int:
    """The primary key of a row read from (or flushed to) the database, typed
    `int`: the model declares `id: int | None` only for rows not yet stored."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet (not flushed)")
    return row.id
