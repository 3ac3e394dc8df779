"""Locks have deadlines and say so (issue 16, point 8): SQLite readers never
wait for the write lock, a busy writer gets one line, PostgreSQL's
lock_timeout turns a held row into "CMP-… is being changed by someone else;
try again", the WAL shrinks back after a long reader, and `restore` refuses
while other sessions use the desk unless --force (which stops them)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli.main import main
from models import Ticket
from pg_fixtures import fresh_pg_database, require_pg

ROOT = Path(__file__).resolve().parents[1]


def _first_ref(desk_url: str) -> str:
    from app.db import open_desk

    d = open_desk(desk_url)
    with d.reader() as s:
        ref = s.scalars(
            select(Ticket.reference).where(Ticket.kind == "complaint", Ticket.status != "closed").order_by(Ticket.id)
        ).first()
    d.dispose()
    return ref


def _config(tmp_path, monkeypatch, text: str) -> None:
    cfg = tmp_path / "locks.toml"
    cfg.write_text(text)
    monkeypatch.setenv("ESIMDESK_CONFIG", str(cfg))


def test_sqlite_readers_never_wait_for_the_write_lock(demo_url, capsys):
    ref = _first_ref(demo_url)
    holder = sqlite3.connect(demo_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a writer in the middle of a long transaction
    try:
        for argv in (["ticket", "show", ref], ["staff", "list"], ["outbox", "list"], ["--as", "olivia", "export"]):
            started = time.monotonic()
            assert main(["--db", demo_url, *argv]) == 0, capsys.readouterr().err
            assert time.monotonic() - started < 5, argv  # was 15.5 s, then "database is locked"
            capsys.readouterr()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_sqlite_busy_writer_gets_one_line_naming_the_ticket(demo_url, tmp_path, monkeypatch, capsys):
    _config(tmp_path, monkeypatch, "[database]\nsqlite_busy_seconds = 1\n")
    ref = _first_ref(demo_url)
    holder = sqlite3.connect(demo_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert main(["--db", demo_url, "ticket", "note", ref, "hello"]) == 2
        assert time.monotonic() - started < 6
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{ref} is being changed by someone else" in err and "try again" in err


@pytest.mark.pg
def test_pg_row_held_by_someone_else_is_a_quick_one_line_try_again(tmp_path, monkeypatch, capsys):
    import psycopg

    from app.business_calendar import BusinessCalendar
    from app.db import open_desk
    from app.demo import build_demo
    from conftest import FROZEN_NOW

    _config(tmp_path, monkeypatch, "[database]\nlock_timeout_seconds = 1\n")
    with fresh_pg_database(require_pg()) as url:
        d = open_desk(url)
        with d.session() as s:
            build_demo(s, 30, 7, FROZEN_NOW, BusinessCalendar("EE", None, "Europe/Tallinn"))
        d.dispose()
        ref = _first_ref(url)
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as other:
            other.execute("SELECT id FROM ticket WHERE reference = %s FOR UPDATE", (ref,))
            started = time.monotonic()
            rc = main(["--db", url, "--as", "olivia", "ticket", "note", ref, "hello"])
            elapsed = time.monotonic() - started
            other.rollback()
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1, err
        assert f"{ref} is being changed by someone else; try again" in err
        assert elapsed < 6  # it used to hang until the other session let go


def test_wal_is_cut_back_after_a_long_reader(tmp_path, monkeypatch):
    import app.db as db

    monkeypatch.setattr(db, "SQLITE_JOURNAL_SIZE_LIMIT", 256 * 1024)
    monkeypatch.setattr(db, "SQLITE_WAL_AUTOCHECKPOINT_PAGES", 50)
    path = tmp_path / "desk.sqlite"
    desk = db.open_desk(f"sqlite:///{path}")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM ticket").fetchone()  # holds its snapshot: no checkpoint can finish
    from sqlalchemy import text

    for i in range(40):
        with desk.session() as s:
            s.execute(text("INSERT INTO desk_setting (key, value) VALUES (:k, :v)"), {"k": f"k{i}", "v": "x" * 100_000})
    wal = Path(str(path) + "-wal")
    grown = wal.stat().st_size
    assert grown > 2 * 1024 * 1024
    reader.execute("COMMIT")
    reader.close()
    for i in range(3):  # ordinary work goes on; checkpoints now complete and the WAL restarts
        with desk.session() as s:
            s.execute(text("UPDATE desk_setting SET value = 'y' WHERE key = :k"), {"k": f"k{i}"})
    assert wal.stat().st_size <= 256 * 1024, (grown, wal.stat().st_size)
    desk.dispose()


def _watcher(url: str, maildir: Path, log: Path) -> subprocess.Popen:
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "--db", url, "intake", "--watch", str(maildir), "--interval", "0.2"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return proc


def test_restore_refuses_while_a_session_uses_the_desk_and_force_stops_it(demo_url, tmp_path, capsys):
    from app.backup import _sqlite_holders, backup

    backup(demo_url, tmp_path / "desk.backup")
    db_file = Path(demo_url.removeprefix("sqlite:///"))
    proc = _watcher(demo_url, tmp_path / "Maildir", tmp_path / "watch.log")
    try:
        deadline = time.monotonic() + 30
        while not _sqlite_holders(db_file) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.pid in _sqlite_holders(db_file)
        assert main(["--db", demo_url, "restore", str(tmp_path / "desk.backup")]) == 2
        assert "pass --force" in capsys.readouterr().err
        assert main(["--db", demo_url, "restore", str(tmp_path / "desk.backup"), "--force"]) == 0
        out = capsys.readouterr().out
        assert '"sessions_stopped": 1' in out
        assert proc.wait(10) == 0  # the watcher was asked to stop and did, between two messages
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_restore_will_not_stop_a_program_that_is_not_esimdesk(demo_url, tmp_path, capsys):
    from app.backup import backup

    backup(demo_url, tmp_path / "desk.backup")
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); c.execute('select 1 from ticket').fetchall();"
                " print('open', flush=True); time.sleep(60)"
            ),
            demo_url.removeprefix("sqlite:///"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout.readline().strip() == "open"
        assert main(["--db", demo_url, "restore", str(tmp_path / "desk.backup"), "--force"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "other programs have" in err and str(other.pid) in err
        assert other.poll() is None  # left alone
    finally:
        other.kill()
        other.wait()


@pytest.mark.pg
def test_pg_restore_refuses_while_sessions_are_connected_and_force_ends_them(tmp_path, capsys):
    import psycopg

    from app.backup import backup
    from app.db import open_desk

    with fresh_pg_database(require_pg()) as source, fresh_pg_database(require_pg()) as target:
        open_desk(source).dispose()
        backup(source, tmp_path / "pg.backup")
        libpq = target.replace("postgresql+psycopg://", "postgresql://")
        console = psycopg.connect(libpq, autocommit=True)
        try:
            assert main(["--db", target, "restore", str(tmp_path / "pg.backup")]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "1 other session uses the target database" in err and "--force" in err
            assert main(["--db", target, "restore", str(tmp_path / "pg.backup"), "--force"]) == 0
            capsys.readouterr()
            with pytest.raises(psycopg.OperationalError):
                console.execute("SELECT 1")
        finally:
            console.close()
