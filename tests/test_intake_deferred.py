"""Migration 0028: an intake group's search and filter documents are built at
its commit on SQLite too (noted by the triggers while the group's marker is
set), and a customer's filled-in name is indexed at the commit on both engines."""

from __future__ import annotations

import importlib

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

import app.mail.ingest as ingest
from app.db import open_desk
from app.mail import deferred_index
from app.mail.ingest import ingest_paths
from app.search import search
from mail_helpers import eml, make_maildir
from models import Ticket
from pg_fixtures import engine_url, pg_url  # noqa: F401  (fixtures)
from workflow_helpers import CONFIG, at

M0028 = importlib.import_module("app.migrations.versions.0028_intake_deferred")


@pytest.fixture
def sqlite_desk(desk):
    if desk.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's triggers (PostgreSQL notes the ids in a setting: migration 0023)")
    return desk


def _refs(desk, query: str) -> list[str]:
    with desk.reader() as s:
        return sorted(h.reference for h in search(s, query))


def test_a_group_notes_its_tickets_and_builds_their_documents_at_its_commit(sqlite_desk, tmp_path, monkeypatch):
    seen = []
    real = deferred_index._build_noted

    def build(session) -> None:
        conn = session.connection()
        seen.append(
            tuple(
                conn.exec_driver_sql(sql).scalar()
                for sql in (
                    "SELECT count(*) FROM search_pending WHERE ticket_id > 0",
                    "SELECT count(*) FROM search_pending WHERE fresh = 1",
                    "SELECT count(*) FROM search_pending WHERE ticket_id = 0",
                    "SELECT count(*) FROM search_fts",
                    "SELECT count(*) FROM search_filter",
                )
            )
        )
        real(session)

    monkeypatch.setattr(deferred_index, "_build_noted", build)
    monkeypatch.setattr(ingest, "GROUP_SECONDS", 60.0)  # one group, however busy the machine
    files = {f"{i}": eml(f"Complaint {i}", f"No data in Riga, case {i} lantern.", msgid=f"<c{i}@x>") for i in range(5)}
    ingest_paths(sqlite_desk, [make_maildir(tmp_path / "m", files)], now=at(60), config=CONFIG)
    # five new tickets noted (fresh: no documents to delete first), the marker set, no document built before the commit
    assert seen[0] == (5, 5, 1, 0, 0)
    assert len(_refs(sqlite_desk, "lantern")) == 5
    with sqlite_desk.reader() as s:
        assert s.execute(text("SELECT count(*) FROM search_pending")).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM search_filter")).scalar() == 5


def test_other_writers_index_row_by_row(sqlite_desk):
    """Without the marker (every writer but intake's groups) nothing is noted:
    a ticket is found inside its own transaction, before the commit."""
    now = at(0)
    with sqlite_desk.session() as s:
        s.add(
            Ticket(
                reference="CMP-2026-000009",
                kind="complaint",
                subject="Lighthouse keeper",
                received_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        s.flush()
        assert [h.reference for h in search(s, "lighthouse")] == ["CMP-2026-000009"]
        assert s.execute(text("SELECT count(*) FROM search_pending")).scalar() == 0


def test_a_customers_name_filled_in_by_intake_reaches_its_older_tickets(engine_url, tmp_path):
    """A sender first without a name, in one batch; in a later one with a name:
    the customer's older ticket is found by the name once the group commits
    (its documents noted and built at the commit, not at the customer's update)."""
    desk = open_desk(engine_url)
    try:
        bare = eml("Complaint", "No signal at the quay.", sender="kaur@x.ee", msgid="<k1@x>").replace(
            b"From: Customer <", b"From: <"
        )
        ingest_paths(desk, [make_maildir(tmp_path / "a", {"1": bare})], now=at(60), config=CONFIG)
        assert _refs(desk, "Tamm") == []
        named = eml("Question about my plan", "Still no signal.", sender="kaur@x.ee", msgid="<k2@x>").replace(
            b"From: Customer <", b"From: Kaur Tamm <"
        )
        others = {f"o{i}": eml(f"Complaint {i}", "Roaming failed.", sender=f"o{i}@x.ee") for i in range(3)}
        ingest_paths(desk, [make_maildir(tmp_path / "b", {"0": named, **others})], now=at(70), config=CONFIG)
        found = _refs(desk, "Tamm")
        assert len(found) == 2 and _refs(desk, "quay Tamm") == found[:1]
        with desk.reader() as s:
            assert s.execute(text("SELECT name FROM customer WHERE email = 'kaur@x.ee'")).scalar() == "Kaur Tamm"
    finally:
        desk.dispose()


def test_downgrade_takes_the_guards_out_and_upgrade_puts_them_back(sqlite_desk):
    def triggers(conn) -> dict[str, str]:
        rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all()
        return {str(name): str(sql) for name, sql in rows}

    with sqlite_desk.engine.begin() as conn:
        at_head = triggers(conn)
        with Operations.context(MigrationContext.configure(conn)):
            M0028.downgrade()
            back = triggers(conn)
            M0028.upgrade()
        again = triggers(conn)
    assert again == at_head
    assert set(at_head) - set(back) == set(M0028.NOTES)
    for name in M0028.GUARDED:
        assert M0028.GUARD in at_head[name] and M0028.GUARD not in back[name]
        assert M0028.guarded(back[name]) == at_head[name]
    assert "WHEN NOT (NEW.kind" in back["search_message_ins"]  # its own WHEN kept


def test_postgresql_downgrade_and_upgrade_again(pg_url):
    """0028 on PostgreSQL: the substring search and the customer's deferral
    come and go with the revision (0023's functions back in between)."""
    desk = open_desk(pg_url)
    try:

        def defer_body(conn) -> str:
            return str(conn.exec_driver_sql("SELECT prosrc FROM pg_proc WHERE proname = 'search_defer'").scalar())

        def customer_flush(conn) -> int:
            sql = "SELECT count(*) FROM pg_trigger WHERE tgname = 'search_flush_customer'"
            return int(conn.exec_driver_sql(sql).scalar() or 0)

        with desk.engine.begin() as conn:
            assert "strpos" in defer_body(conn) and customer_flush(conn) == 1
            with Operations.context(MigrationContext.configure(conn)):
                M0028.downgrade()
                assert "string_to_array" in defer_body(conn) and customer_flush(conn) == 0
                M0028.upgrade()
            assert "strpos" in defer_body(conn) and customer_flush(conn) == 1
    finally:
        desk.dispose()
