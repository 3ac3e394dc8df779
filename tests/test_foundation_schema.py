"""Migrations: the migrated schema equals the models; history is append-only;
the program refuses schemas it does not know."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import models
from app.db import open_desk
from app.errors import DeskError
from app.history import record
from models import Ticket

models.load_all()  # every table on SQLModel.metadata (compared below)


def _not_search_index(name, type_, parent_names) -> bool:
    """The full-text index (migration 0006) and the wall's and the queue's
    partial indexes on app.clocks' rules (migration 0014, app/wall_ranges.py;
    migration 0022, app/queue_ranges.py), and the queue filter's walk table
    (migration 0029) are the database's own, not a model's."""
    from app import queue_ranges

    if type_ == "index" and name and ("_wall_" in name or name in queue_ranges.INDEXES or "_filter_walk_" in name):
        return False
    return not (type_ == "table" and (name.startswith("search_") or name == "filter_walk"))


def test_migrated_schema_equals_models(desk):
    import warnings

    with desk.engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _not_search_index})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_sqlite_settings(desk):
    if desk.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    with desk.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def _ticket(session) -> Ticket:
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    t = Ticket(reference="CMP-2026-000001", kind="complaint", received_at=now, created_at=now, updated_at=now)
    session.add(t)
    session.flush()
    return t


def test_history_is_append_only_in_the_database(desk):
    with desk.session() as s:
        t = _ticket(s)
        record(s, t.id, "alice", "note", datetime.now(UTC))
    for stmt in ("UPDATE ticket_event SET actor = 'mallory'", "DELETE FROM ticket_event"):
        with pytest.raises(Exception, match="append-only"), desk.session() as s:
            s.execute(text(stmt))
    with desk.reader() as s:
        assert s.execute(text("SELECT actor FROM ticket_event")).scalar_one() == "alice"


def test_unknown_newer_schema_is_refused(desk_url):
    d = open_desk(desk_url)
    with d.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    d.dispose()
    with pytest.raises(DeskError, match="newer than this esimdesk"):
        open_desk(desk_url)


def test_references_are_unique_and_sequential(desk):
    from app.references import next_reference

    with desk.session() as s:
        refs = [next_reference(s, "complaint", 2026) for _ in range(3)] + [next_reference(s, "refund", 2026)]
    assert refs == ["CMP-2026-000001", "CMP-2026-000002", "CMP-2026-000003", "RFD-2026-000001"]


def test_fast_path_head_matches_the_migrations():
    from app.migrations_runner import HEAD_REVISION, head_revision

    assert head_revision() == HEAD_REVISION
