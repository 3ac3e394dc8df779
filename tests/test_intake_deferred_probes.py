"""Intake's deferred documents (migration 0028, app.mail.deferred_index, Desk.grouped's
temp_store): probes of the marker row, the documents after commit, the
connection's temp_store, and 0028 down/up on a desk with data."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

import app.mail.ingest as ingest
from app.db import open_desk
from app.errors import DeskError
from app.mail.ingest import ingest_paths
from app.search import search
from mail_helpers import add_order, eml, make_maildir
from models import Ticket
from pg_fixtures import engine_url, pg_url  # noqa: F401  (fixtures)
from test_mail_cli import esimdesk
from workflow_helpers import CONFIG, at

M0028 = importlib.import_module("app.migrations.versions.0028_intake_deferred")


def _refs(desk, query: str) -> list[str]:
    with desk.reader() as s:
        return sorted(h.reference for h in search(s, query))


def _pending(desk) -> int:
    if desk.engine.dialect.name != "sqlite":
        return 0
    with desk.reader() as s:
        return int(s.execute(text("SELECT count(*) FROM search_pending")).scalar() or 0)


def _temp_stores(desk) -> list[int]:
    """temp_store of every connection the pool holds (checked out all at once)."""
    conns = [desk.engine.connect() for _ in range(desk.engine.pool.checkedin() or 1)]
    try:
        return [int(c.connection.dbapi_connection.execute("PRAGMA temp_store").fetchone()[0]) for c in conns]
    finally:
        for c in conns:
            c.close()


def _console_ticket(desk, reference: str, now) -> None:
    """A ticket written as the console or the CLI writes one (no intake group, no marker of its own)."""
    with desk.session() as s:
        s.add(
            Ticket(
                reference=reference,
                kind="complaint",
                subject="Lighthouse keeper",
                received_at=now,
                created_at=now,
                updated_at=now,
            )
        )


@pytest.fixture
def sqlite_desk(tmp_path):
    desk = open_desk(f"sqlite:///{tmp_path}/desk.sqlite")
    yield desk
    desk.dispose()


def test_temp_store_is_restored_on_the_pooled_connection_after_a_batch_that_fails(sqlite_desk, tmp_path, monkeypatch):
    files = {f"{i}": eml(f"Complaint {i}", f"lantern {i}", msgid=f"<c{i}@x>") for i in range(4)}
    ingest_paths(sqlite_desk, [make_maildir(tmp_path / "a", files)], now=at(60), config=CONFIG)
    assert set(_temp_stores(sqlite_desk)) == {0}
    from sqlalchemy.exc import OperationalError

    def broken(*a, **k):
        raise OperationalError("x", {}, Exception("disk I/O error"))

    monkeypatch.setattr(ingest, "route_message", broken)
    files = {f"{i}": eml(f"Complaint {i}", f"lantern {i}", msgid=f"<d{i}@x>") for i in range(4)}
    with pytest.raises(DeskError):
        ingest_paths(sqlite_desk, [make_maildir(tmp_path / "b", files)], now=at(60), config=CONFIG)
    assert set(_temp_stores(sqlite_desk)) == {0}
    assert _pending(sqlite_desk) == 0


def test_a_fresh_ticket_given_documents_by_an_unguarded_trigger_replays_its_group(sqlite_desk, tmp_path, monkeypatch):
    """0028's docstring: an order renamed in the group (search_order_upd is not
    guarded) gives a fresh ticket documents; the build fails on the duplicate,
    the group runs again guarded, and every ticket ends with its documents."""
    calls: list[str] = []
    summary = _ingest_renaming_the_order(sqlite_desk, tmp_path, monkeypatch, calls)
    assert summary.count("created") == 4
    assert len(calls) > 4  # the group ran again
    assert len(_refs(sqlite_desk, "lantern")) == 4
    assert _pending(sqlite_desk) == 0


def test_a_left_over_marker_is_mended_by_the_next_intake_command_even_a_watch(sqlite_desk, tmp_path):
    """What a committed marker row would do (no path commits one: the tests
    below): a console/CLI write is only noted, its ticket not found. The next
    `esimdesk intake`, even a --watch pass with no mail (which never defers),
    builds what was noted and clears the marker (build_left_over)."""
    now = at(0)
    with sqlite_desk.session() as s:
        s.execute(text("INSERT INTO search_pending(ticket_id) VALUES (0)"))
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
    assert _refs(sqlite_desk, "lighthouse") == [] and _pending(sqlite_desk) == 2
    empty = make_maildir(tmp_path / "watched", {})
    db = sqlite_desk.engine.url.database
    proc = esimdesk(tmp_path, "intake", "--watch", str(empty), "--once", db=Path(db))
    assert proc.returncode == 0, proc.stderr
    assert _refs(sqlite_desk, "lighthouse") == ["CMP-2026-000009"] and _pending(sqlite_desk) == 0


@pytest.mark.parametrize("engine", ["sqlite", "pg"])
def test_0028_down_and_up_on_a_desk_with_data_keeps_indexing(engine, tmp_path, request):
    url = f"sqlite:///{tmp_path}/desk.sqlite" if engine == "sqlite" else request.getfixturevalue("pg_url")
    desk = open_desk(url)
    try:
        files = {
            f"{i}": eml(f"Complaint {i}", f"lantern {i}", sender=f"c{i}@x.ee", msgid=f"<c{i}@x>") for i in range(4)
        }
        ingest_paths(desk, [make_maildir(tmp_path / "a", files)], now=at(60), config=CONFIG)
        with desk.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            M0028.downgrade()
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0027'")
        # at 0027: a console write, and intake, still indexed
        _console_ticket(desk, "CMP-2026-000090", at(1))
        assert _refs(desk, "lighthouse") == ["CMP-2026-000090"]
        with desk.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            M0028.upgrade()
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0028'")
        files = {f"{i}": eml(f"Complaint {i}", f"beacon {i}", sender=f"c{i}@x.ee", msgid=f"<e{i}@x>") for i in range(4)}
        ingest_paths(desk, [make_maildir(tmp_path / "b", files)], now=at(70), config=CONFIG)
        assert len(_refs(desk, "beacon")) == 4 and len(_refs(desk, "lantern")) == 4
        assert _pending(desk) == 0
    finally:
        desk.dispose()


def test_a_failed_build_at_commit_leaves_references_as_a_clean_run(sqlite_desk, tmp_path, monkeypatch):
    _ingest_renaming_the_order(sqlite_desk, tmp_path, monkeypatch, [])
    with sqlite_desk.reader() as s:
        refs = sorted(r for (r,) in s.execute(text("SELECT reference FROM ticket")))
        counters = dict(s.execute(text("SELECT prefix, last FROM reference_counter")).all())
    assert counters.get("CMP") == 3 and counters.get("RFD") == 1
    assert [r[:4] for r in refs] == ["CMP-"] * 3 + ["RFD-"], "each reference issued once, none skipped"
    # after the batch, a console write is indexed at once (no marker left)
    _console_ticket(sqlite_desk, "CMP-2026-000099", at(1))
    assert _refs(sqlite_desk, "lighthouse") == ["CMP-2026-000099"]


_BOOM = [
    "CREATE TRIGGER boom AFTER INSERT ON ticket WHEN NEW.subject = 'boom' "
    "AND NOT EXISTS (SELECT 1 FROM search_pending WHERE ticket_id = 0) BEGIN SELECT RAISE(ABORT, 'boom'); END",
    "CREATE TRIGGER boom_noted BEFORE DELETE ON search_pending "
    "WHEN EXISTS (SELECT 1 FROM ticket WHERE id = OLD.ticket_id AND subject = 'boom') "
    "BEGIN SELECT RAISE(ABORT, 'boom'); END",
]


def _missing_documents(desk) -> tuple[int, int]:
    with desk.reader() as s:
        a = s.execute(text("SELECT count(*) FROM ticket WHERE id NOT IN (SELECT rowid FROM search_fts)")).scalar()
        b = s.execute(text("SELECT count(*) FROM ticket WHERE id NOT IN (SELECT rowid FROM search_filter)")).scalar()
    return int(a or 0), int(b or 0)


def test_groups_after_a_replayed_one_and_a_duplicate_only_rerun_leave_nothing_noted(sqlite_desk, tmp_path, monkeypatch):
    with sqlite_desk.session() as s:
        for sql in _BOOM:
            s.execute(text(sql))
    monkeypatch.setattr(ingest, "GROUP_MESSAGES", 3)
    monkeypatch.setattr(ingest, "GROUP_SECONDS", 60.0)
    files = {
        f"{i:02}": eml(f"Complaint {i}", f"lantern {i}", sender=f"c{i % 4}@x.ee", msgid=f"<c{i}@x>") for i in range(11)
    }
    files["01"] = eml("boom", "cannot be indexed", msgid="<boom@x>")
    # a reply into an older ticket in a later group, and a customer whose name gets filled in
    summary = ingest_paths(sqlite_desk, [make_maildir(tmp_path / "a", files)], now=at(60), config=CONFIG)
    assert summary.count("quarantined") == 1 and summary.count("created") == 10
    assert _pending(sqlite_desk) == 0 and _missing_documents(sqlite_desk) == (0, 0)
    again = ingest_paths(sqlite_desk, [make_maildir(tmp_path / "a", files)], now=at(61), config=CONFIG)
    assert again.count("duplicate") == 11
    assert _pending(sqlite_desk) == 0
    _console_ticket(sqlite_desk, "CMP-2026-000099", at(2))
    assert _refs(sqlite_desk, "lighthouse") == ["CMP-2026-000099"]
    assert _missing_documents(sqlite_desk) == (0, 0)


def test_a_kill_between_the_marker_and_the_commit_leaves_no_marker(sqlite_desk, tmp_path):
    import subprocess
    import sys

    url = str(sqlite_desk.engine.url)
    code = f"""
import os, signal, sys
sys.path.insert(0, 'tests')
from app.db import open_desk
from app.mail.deferred_index import defer_new_ticket_index
from workflow_helpers import at
from models import Ticket
d = open_desk({url!r})
with d.grouped(256, 60.0) as w:
    w.guarded = False
    defer_new_ticket_index(w.session)
    with w() as s:
        now = at(0)
        s.add(Ticket(reference='CMP-2026-000077', kind='complaint', subject='Killed lantern',
                     received_at=now, created_at=now, updated_at=now))
    c = w.session.connection()
    assert c.exec_driver_sql('SELECT count(*) FROM search_pending').scalar() == 2
    os.kill(os.getpid(), signal.SIGKILL)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == -9, p.stderr
    assert _pending(sqlite_desk) == 0
    with sqlite_desk.reader() as s:
        assert s.execute(text("SELECT count(*) FROM ticket")).scalar() == 0


def test_postgresql_search_defer_finds_whole_ids_only(pg_url):
    """0028's strpos: 12 is not found inside ',112,' or ',1200,', nor 0 as the leading '0'."""
    desk = open_desk(pg_url)
    try:
        with desk.engine.begin() as c:
            c.execute(text("SELECT set_config('esimdesk.search_pending', '0,112,1200,7', true)"))
            found = {
                t: c.execute(text("SELECT search_defer(:t, false)"), {"t": t}).scalar()
                for t in (12, 112, 1, 2, 120, 1200, 7, 0, 11)
            }
            assert found == {
                12: False,
                112: True,
                1: False,
                2: False,
                120: False,
                1200: True,
                7: True,
                0: False,
                11: False,
            }
            assert c.execute(text("SELECT search_defer(12, true)")).scalar() is True
            assert c.execute(text("SELECT current_setting('esimdesk.search_pending')")).scalar() == "0,112,1200,7,12"
    finally:
        desk.dispose()


def _ingest_renaming_the_order(sqlite_desk, tmp_path, monkeypatch, calls: list[str]):
    """Three complaints and a refund for a stored order in one group, each
    message followed by an order rename (search_order_upd is not guarded: it
    gives the group's fresh tickets documents before the build at commit);
    `calls` gets one entry a routed message."""
    add_order(sqlite_desk)
    real = ingest.route_message

    def rename_after(session, *a, **k):
        out = real(session, *a, **k)
        calls.append(session.get_bind().dialect.name)
        session.connection().exec_driver_sql("UPDATE esim_order SET number = number")
        return out

    monkeypatch.setattr(ingest, "route_message", rename_after)
    monkeypatch.setattr(ingest, "GROUP_SECONDS", 60.0)
    files = {f"{i}": eml(f"Complaint {i}", f"lantern {i}", msgid=f"<c{i}@x>") for i in range(3)}
    files["r"] = eml("Refund Request ORD-1234567890-ABCD", "Please refund, the QR lantern.", msgid="<r@x>")
    return ingest_paths(sqlite_desk, [make_maildir(tmp_path / "a", files)], now=at(60), config=CONFIG)
