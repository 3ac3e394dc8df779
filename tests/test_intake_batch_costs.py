"""What an intake batch changes for its own duration only (issue 21): the
SQLite connection checkpoints its WAL every few groups and once at the end,
with a larger page cache (app.db `_batch_pages`), and the cyclic collector leaves the objects
made before the batch alone (app.mail.ingest `_old_objects_frozen`)."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy.exc import OperationalError

import app.mail.ingest as ingest
from app.db import SQLITE_BATCH_AUTOCHECKPOINT_PAGES, SQLITE_BATCH_CACHE, SQLITE_WAL_AUTOCHECKPOINT_PAGES, open_desk
from app.errors import DeskError
from app.mail.ingest import ingest_paths
from mail_helpers import eml, make_maildir
from workflow_helpers import CONFIG, at


@pytest.fixture
def sqlite_desk(tmp_path):
    desk = open_desk(f"sqlite:///{tmp_path}/desk.sqlite")
    yield desk
    desk.dispose()


def _pragmas(desk) -> set[tuple[int, int]]:
    """(wal_autocheckpoint, cache_size) of every connection the pool holds (checked out all at once)."""
    conns = [desk.engine.connect() for _ in range(desk.engine.pool.checkedin() or 1)]
    try:
        return {_pages(c.connection.dbapi_connection) for c in conns}
    finally:
        for c in conns:
            c.close()


def _pages(dbapi) -> tuple[int, int]:
    return tuple(int(dbapi.execute(f"PRAGMA {p}").fetchone()[0]) for p in ("wal_autocheckpoint", "cache_size"))


def _mail(tmp_path, name: str, n: int = 6):
    files = {f"{i}": eml(f"Complaint {i}", f"lantern {i}", msgid=f"<{name}{i}@x>") for i in range(n)}
    return make_maildir(tmp_path / name, files)


def test_a_grouped_batch_checkpoints_every_few_groups_and_once_at_its_end_with_a_larger_cache(sqlite_desk, tmp_path):
    seen: list[str] = []
    with sqlite_desk.grouped(2, 60.0) as writes:
        dbapi = writes.session.connection().connection.dbapi_connection
        during = _pages(dbapi)
        dbapi.set_trace_callback(seen.append)
    dbapi.set_trace_callback(None)
    assert during == (SQLITE_BATCH_AUTOCHECKPOINT_PAGES, SQLITE_BATCH_CACHE)
    assert "PRAGMA wal_checkpoint(PASSIVE)" in seen  # the next writer does not inherit the batch's WAL
    assert _pragmas(sqlite_desk) == {(SQLITE_WAL_AUTOCHECKPOINT_PAGES, -2000)}  # SQLite's default cache


def test_the_page_settings_are_restored_after_an_intake_that_fails(sqlite_desk, tmp_path, monkeypatch):
    ingest_paths(sqlite_desk, [_mail(tmp_path, "a")], now=at(60), config=CONFIG)
    assert _pragmas(sqlite_desk) == {(SQLITE_WAL_AUTOCHECKPOINT_PAGES, -2000)}  # SQLite's default cache

    def broken(*a, **k):
        raise OperationalError("x", {}, Exception("disk I/O error"))

    monkeypatch.setattr(ingest, "route_message", broken)
    with pytest.raises(DeskError):
        ingest_paths(sqlite_desk, [_mail(tmp_path, "b")], now=at(60), config=CONFIG)
    assert _pragmas(sqlite_desk) == {(SQLITE_WAL_AUTOCHECKPOINT_PAGES, -2000)}  # SQLite's default cache


def test_the_collector_skips_what_existed_before_the_batch_while_it_runs(sqlite_desk, tmp_path):
    gc.unfreeze()  # whatever an earlier test (a console) froze in this process
    frozen: list[int] = []
    summary = ingest_paths(
        sqlite_desk,
        [_mail(tmp_path, "a")],
        now=at(60),
        config=CONFIG,
        on_item=lambda *_: frozen.append(gc.get_freeze_count()),
    )
    assert summary.as_dict()["created"] == 6
    assert len(frozen) == 6 and min(frozen) > 0
    assert gc.get_freeze_count() == 0  # handed back afterwards


def test_objects_the_process_froze_itself_stay_frozen_after_a_batch(sqlite_desk, tmp_path):
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        ingest_paths(sqlite_desk, [_mail(tmp_path, "a")], now=at(60), config=CONFIG)
        assert before > 0 and gc.get_freeze_count() > 0  # not handed back: not the batch's to give
    finally:
        gc.unfreeze()
