"""The demo build's bulk load (app/demo_bulk.py): the same desk as row by
row, on both engines; a build cut short leaves the triggers as they were."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from sqlalchemy import text

from app import demo_bulk, demo_pipeline, wall_tally
from app.business_calendar import BusinessCalendar
from app.db import open_desk
from app.demo import build_demo, build_session
from conftest import FROZEN_NOW
from demo_fingerprint import fingerprint
from pg_fixtures import engine_url, fresh_pg_database  # noqa: F401  (fixture)

CAL = BusinessCalendar("EE", None, "Europe/Tallinn")
# seed 7, 1,500 tickets, FROZEN_NOW: the digest of the desk built row by row
# before the bulk load existed (commit a8f2ee7), on each engine, with one change
# since: a complaint whose subject names a city has that city's region (Lisbon
# Europe, Nairobi Africa, Tokyo none), where it had a random one. Checked when it
# was made: against the desk before it, only ticket.region differs (306 rows).
PINNED = {
    "sqlite": "f2d0a8a45a8c8bed8cce4d6befa968de65136cdfffe764bc2ea6872f4a39505e",
    "postgresql": "3c98a9e2fdd6c180333b5ecd15e043cb30bf60da3e61c861a850235e1369370d",
}
# the derived tables, as the triggers make them
DERIVED = {
    "sqlite": (
        "SELECT rowid, refs, subject, customer, messages, notes FROM search_fts ORDER BY rowid",
        "SELECT rowid, doc FROM search_filter ORDER BY rowid",
        "SELECT ticket_id, due_key, doc, words FROM filter_walk ORDER BY ticket_id",  # migration 0029
    ),
    "postgresql": (
        # the words (a document built message by message orders them otherwise)
        "SELECT ticket_id, strip(doc)::text FROM search_doc ORDER BY ticket_id",
        "SELECT ticket_id, doc FROM search_filter ORDER BY ticket_id",
        "SELECT ticket_id, due_at, doc, words FROM filter_walk ORDER BY ticket_id",
    ),
}
# the triggers, indexes and (PostgreSQL) constraints the bulk load takes away and makes again
TRIGGERS = {
    "sqlite": "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index') ORDER BY name",
    "postgresql": "SELECT 'trigger', tgname::text, tgenabled::text || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
    "UNION ALL SELECT 'index', indexname::text, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
    "UNION ALL SELECT 'constraint', conname::text, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = to_regnamespace(current_schema())::oid ORDER BY 1, 2",
}


def _derived(desk, dialect: str) -> list[list[tuple]]:
    with desk.reader() as s:
        return [[tuple(r) for r in s.connection().execute(text(q))] for q in DERIVED[dialect]]


def _found(desk) -> list[list]:
    """What searches (words, a phrase, a prefix) and queue filters find on the
    desk, through their indexes (PostgreSQL: sequential scans off, so the GIN
    indexes the bulk load made answer)."""
    from app import queue_filter, search

    with desk.reader() as s:
        conn = s.connection()
        if desk.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        names = [str(n).split() for (n,) in conn.execute(text("SELECT name FROM customer ORDER BY id LIMIT 6"))]
        refs = [str(r) for (r,) in conn.execute(text("SELECT reference FROM ticket ORDER BY id DESC LIMIT 2"))]
        names = [n for n in names if len(n) == 2 and all(w.isalpha() for w in n)]
        queries = [w for n in names for w in n] + [f'"{a} {b}"' for a, b in names] + [f"{a[:3]}*" for a, _ in names]
        needles = [w[:4].lower() for n in names for w in n] + [r[-6:] for r in refs]
        found = [search.ranked_ids(s, search.parse(q), limit=500) for q in queries + refs]
        return found + [sorted(s.scalars(queue_filter.substring_ids(s, n))) for n in needles]


def _row_by_row(monkeypatch) -> None:
    """The build without the bulk load: every trigger fires per row."""
    from contextlib import nullcontext
    from types import SimpleNamespace

    import app.demo

    # written(top): nothing to fill, the triggers did it row by row
    monkeypatch.setattr(
        app.demo,
        "bulk_load",
        lambda conn, lap: nullcontext(SimpleNamespace(written=lambda top: None, fill_seconds=0.0)),
    )


def _journal(desk) -> str | None:
    """SQLite's journal mode (None on PostgreSQL)."""
    if desk.engine.dialect.name != "sqlite":
        return None
    with desk.reader() as s:
        return str(s.connection().exec_driver_sql("PRAGMA journal_mode").scalar())


@pytest.mark.parametrize(("chunk", "own_session"), [(demo_pipeline.CHUNK, True), (97, False)])
def test_same_desk_as_before_the_bulk_load(engine_url, chunk, own_session, monkeypatch):
    """The same desk whether the generator hands its rows over at the end or
    every 97 tickets (app/demo_pipeline.py), and whether it is written in the
    build's own session (SQLite: with a rollback journal) or a plain one."""
    monkeypatch.setattr(demo_pipeline, "CHUNK", chunk)
    desk = open_desk(engine_url)
    try:
        with build_session(desk) if own_session else desk.session() as s:
            if own_session and desk.engine.dialect.name == "sqlite":
                assert s.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "truncate"
            build_demo(s, 1500, 7, FROZEN_NOW, CAL, login="olivia")
        with desk.reader() as s:
            assert fingerprint(s) == PINNED[desk.engine.dialect.name]
            assert wall_tally.stored(s) == wall_tally.recounted(s)
        assert _journal(desk) in ("wal", None)
    finally:
        desk.dispose()


def test_derived_tables_as_the_triggers_make_them(engine_url, tmp_path, monkeypatch):
    """The derived tables hold what the triggers make row by row, and searches
    and filters read through their indexes find the same tickets."""
    monkeypatch.setattr(demo_pipeline, "CHUNK", 40)  # PostgreSQL fills each chunk as it is written
    bulk = open_desk(engine_url)
    try:
        dialect = bulk.engine.dialect.name
        with bulk.session() as s:
            build_demo(s, 300, 11, FROZEN_NOW, CAL, login="olivia")
        got = _derived(bulk, dialect)
        got_found = _found(bulk)
    finally:
        bulk.dispose()
    _row_by_row(monkeypatch)
    with ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'slow.sqlite'}" if dialect == "sqlite" else stack.enter_context(fresh_pg_database())
        )
        slow = open_desk(url)
        try:
            with slow.session() as s:
                build_demo(s, 300, 11, FROZEN_NOW, CAL, login="olivia")
            want = _derived(slow, dialect)
            want_found = _found(slow)
        finally:
            slow.dispose()
    assert got == want and len(got[0]) == 300
    assert got_found == want_found and sum(1 for ids in got_found if ids) >= len(got_found) - 2


def test_a_build_cut_short_leaves_the_triggers(engine_url):
    desk = open_desk(engine_url)
    try:
        with desk.reader() as s:
            before = s.connection().execute(text(TRIGGERS[desk.engine.dialect.name])).all()
        with pytest.raises(RuntimeError), desk.session() as s, demo_bulk.bulk_load(s.connection()):
            s.connection().exec_driver_sql("INSERT INTO desk_setting (key, value) VALUES ('x', 'y')")
            raise RuntimeError("cut short")
        with desk.reader() as s:
            assert s.connection().execute(text(TRIGGERS[desk.engine.dialect.name])).all() == before
            assert s.connection().exec_driver_sql("SELECT count(*) FROM desk_setting").scalar() == 0
        with desk.session() as s, demo_bulk.bulk_load(s.connection()):
            pass
        with desk.reader() as s:
            assert s.connection().execute(text(TRIGGERS[desk.engine.dialect.name])).all() == before
    finally:
        desk.dispose()


def test_the_next_rows_get_free_ids(engine_url):
    """The rows went in with their ids: a row added after the build (PostgreSQL:
    through the id sequence) gets the next free id."""
    from sqlalchemy import func, select

    from models import Customer

    desk = open_desk(engine_url)
    try:
        with desk.session() as s:
            build_demo(s, 60, 7, FROZEN_NOW, CAL, login="olivia")
        with desk.session() as s:
            top = s.scalar(select(func.max(Customer.id)))
            c = Customer(
                name="After The Build", email="after@example.com", customer_type="end_user", created_at=FROZEN_NOW
            )
            s.add(c)
            s.flush()
            assert c.id == top + 1
            if desk.engine.dialect.name == "postgresql":
                for table in ("staff", "esim_order", "ticket", "ticket_event", "message", "refund_case", "quarantine"):
                    ids = s.connection().exec_driver_sql(
                        f"SELECT max(id), nextval(pg_get_serial_sequence('{table}', 'id')) FROM {table}"
                    )
                    (most, nxt) = ids.one()
                    assert nxt == most + 1, table
    finally:
        desk.dispose()


@pytest.mark.parametrize("own_session", [True, False])
def test_a_generator_failure_is_raised_and_writes_nothing(engine_url, own_session, monkeypatch):
    """The forked generator fails part way (after chunks were written): the
    build raises its error, and the desk keeps no row, its triggers and (SQLite)
    its WAL mode."""
    import app.demo

    made = {"n": 0}
    inquiry = app.demo._Builder.inquiry

    def failing(self):
        made["n"] += 1
        if made["n"] > 30:
            raise ValueError("the generator broke")
        inquiry(self)

    monkeypatch.setattr(demo_pipeline, "CHUNK", 50)
    monkeypatch.setattr(app.demo._Builder, "inquiry", failing)
    desk = open_desk(engine_url)
    try:
        with desk.reader() as s:
            before = s.connection().execute(text(TRIGGERS[desk.engine.dialect.name])).all()
        session = build_session(desk) if own_session else desk.session()
        with pytest.raises(RuntimeError, match="the generator broke"), session as s:
            build_demo(s, 1000, 7, FROZEN_NOW, CAL, login="olivia")
        with desk.reader() as s:
            assert s.connection().execute(text(TRIGGERS[desk.engine.dialect.name])).all() == before
            assert s.connection().exec_driver_sql("SELECT count(*) FROM ticket").scalar() == 0
        assert _journal(desk) in ("wal", None)
    finally:
        desk.dispose()
