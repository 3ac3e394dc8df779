"""`table_of(Model)`: a table model's SQLAlchemy `Table`, typed.

SQLModel sets `__table__` on every `table=True` class but does not declare it,
so `Ticket.__table__` is untyped; Core queries (`.c.column`, inserts) go through
this instead.
"""
from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    table = model.__dict__.get("__table__")
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table
