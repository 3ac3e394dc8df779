"""A table model is defined when its name is first used, with the tables its
foreign keys name; no model imports an engine's SQLAlchemy dialect; load_all()
defines them all (the migrated schema's partial indexes keep their WHERE,
which lives in migration 0019 alone)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text

import models
from models import _TABLES


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


_DEFINED = (
    "import json, sys; from sqlmodel import SQLModel;"
    "fks = [(t.name, fk.target_fullname) for t in SQLModel.metadata.tables.values() for fk in t.foreign_keys];"
    "missing = [f for f in fks if f[1].split('.')[0] not in SQLModel.metadata.tables];"
    "print(json.dumps({'tables': sorted(SQLModel.metadata.tables), 'missing': missing,"
    " 'dialects': sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.') and m.count('.') == 2)}))"
)


def test_importing_the_models_defines_no_table_and_a_name_defines_its_own() -> None:
    got = _run(f"import models; {_DEFINED}")
    assert got["tables"] == []
    got = _run(f"from models import Ticket; {_DEFINED}")
    # the ticket and the tables its foreign keys name: not the messages, events, refunds... (nor their dialects)
    assert got["tables"] == ["customer", "esim_order", "order_history", "staff", "ticket"]
    assert got["missing"] == [] and got["dialects"] == []


@pytest.mark.parametrize("name", sorted(_TABLES))
def test_each_table_comes_with_the_tables_its_foreign_keys_name(name: str) -> None:
    got = _run(f"import models; models.{name}; {_DEFINED}")
    assert got["missing"] == [] and got["dialects"] == []
    assert models.table_of(getattr(models, name)).name in got["tables"]


def test_load_all_defines_every_table_and_every_name_is_importable() -> None:
    got = _run(f"import models; models.load_all(); {_DEFINED}")
    assert len(got["tables"]) == len(_TABLES) and got["missing"] == []
    assert set(models.__all__) == {*_TABLES, "load_all", "stored_id", "table_of"}
    assert set(_TABLES) <= set(dir(models))
    for name in _TABLES:
        assert getattr(models, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        models.Nothing  # noqa: B018


def test_the_partial_indexes_keep_their_where(desk) -> None:
    """models/ticket.py declares them without it (migration 0019 makes them partial)."""
    sql = {
        "sqlite": "SELECT name, sql FROM sqlite_master WHERE name LIKE 'ix_ticket_%_due' AND sql LIKE '%WHERE%'",
        "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix_ticket_%_due'"
        " AND indexdef LIKE '%WHERE%'",
    }[desk.engine.dialect.name]
    with desk.engine.connect() as conn:
        partial = dict(conn.execute(text(sql)).all())
    assert {"ix_ticket_unassigned_due", "ix_ticket_out_of_scope_due"} <= set(partial)
    assert "assignee_id IS NULL" in partial["ix_ticket_unassigned_due"]
    assert "out_of_scope IS NOT NULL" in partial["ix_ticket_out_of_scope_due"]
