"""`esimdesk backup` / `esimdesk restore`: consistent copies of a live desk, round trip loses nothing."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import bindparam, inspect, text

from app.backup import backup, restore
from app.business_calendar import BusinessCalendar
from app.cli.main import main
from app.db import make_engine, open_desk
from app.demo import build_demo
from app.errors import InputError
from ops_factory import dump_tables
from pg_fixtures import engine_url, fresh_pg_database, require_pg  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for bench/
from bench.concurrency_bench import ACTIONS, run_agents

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _demo(url: str, tickets: int = 150) -> None:
    d = open_desk(url)
    with d.session() as s:
        build_demo(s, tickets, 7, NOW, BusinessCalendar("EE", None, "Europe/Tallinn"), login="root")
    d.dispose()


def _dump(url: str) -> dict:
    engine = make_engine(url)
    try:
        return dump_tables(engine)
    finally:
        engine.dispose()


def _target(engine_url: str, directory: Path):
    """A fresh, empty database on the same engine as `engine_url`."""
    if engine_url.startswith("sqlite"):
        directory.mkdir(exist_ok=True)
        return nullcontext(f"sqlite:///{directory / 'restored.sqlite'}")
    return fresh_pg_database(require_pg())


def test_round_trip_through_the_cli_loses_nothing(engine_url, tmp_path, capsys):
    _demo(engine_url)
    before = _dump(engine_url)
    assert len(before["ticket"]) == 150 and before["ticket_event"] and before["message"]
    path = tmp_path / "desk.backup"
    assert main(["--db", engine_url, "backup", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == str(path) and out["bytes"] == path.stat().st_size > 0
    assert not list(tmp_path.glob(".desk.backup.partial*"))
    with _target(engine_url, tmp_path) as target:
        assert main(["--db", target, "restore", str(path)]) == 0
        assert _dump(target) == before
        # the restored desk opens at the current schema and works
        d = open_desk(target)
        d.dispose()


def test_restore_refuses_to_overwrite_a_desk_without_force(tmp_path, capsys):
    src = f"sqlite:///{tmp_path / 'a.sqlite'}"
    other = f"sqlite:///{tmp_path / 'b.sqlite'}"
    _demo(src, 30)
    _demo(other, 60)
    path = tmp_path / "a.backup"
    backup(src, path)
    assert main(["--db", other, "restore", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--force" in err
    assert len(_dump(other)["ticket"]) == 60
    assert main(["--db", other, "restore", str(path), "--force"]) == 0
    assert _dump(other) == _dump(src)


def test_restore_refuses_a_file_that_is_not_a_backup_or_the_wrong_engine(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello world, not a backup")
    with pytest.raises(InputError, match="not an esimdesk backup"):
        restore(f"sqlite:///{tmp_path / 'x.sqlite'}", junk)
    fake_dump = tmp_path / "pg.dump"
    fake_dump.write_bytes(b"PGDMP" + b"\0" * 64)
    with pytest.raises(InputError, match="cannot be restored into a sqlite"):
        restore(f"sqlite:///{tmp_path / 'x.sqlite'}", fake_dump)
    with pytest.raises(InputError, match="does not exist"):
        backup(f"sqlite:///{tmp_path / 'x.sqlite'}", tmp_path / "no" / "such" / "dir.backup")


def test_backup_while_eight_writers_run_is_consistent(engine_url, tmp_path):
    """Every backup taken mid-storm is a snapshot of one instant: each ticket's
    version, counter and history agree (no half-applied transaction)."""
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(run_agents(engine_url, workers=8, actions=40, tickets=4)))
    worker.start()
    paths = []
    deadline = time.monotonic() + 120
    while worker.is_alive() and time.monotonic() < deadline:
        try:
            p = tmp_path / f"live-{len(paths)}.backup"
            backup(engine_url, p)
            paths.append(p)
        except InputError:  # the desk file is not created yet
            pass
        time.sleep(0.3)
    worker.join()
    assert result["errors"] == []
    assert paths, "no backup was taken while the writers ran"
    mid_storm = 0
    if len(paths) > 6:  # restoring is the slow part: check six spread over the storm
        step = len(paths) / 6
        paths = [paths[int(i * step)] for i in range(6)]
    for i, p in enumerate(paths):
        with _target(engine_url, tmp_path / f"r{i}") as target:
            restore(target, p)
            engine = make_engine(target)
            try:
                if not inspect(engine).has_table("ticket"):
                    continue  # taken before the schema was created
                with engine.connect() as conn:
                    rows = conn.execute(
                        text(
                            "SELECT t.reference, t.version, t.extensions, "
                            "(SELECT count(*) FROM ticket_event e WHERE e.ticket_id = t.id AND e.action IN :acts) "
                            "FROM ticket t"
                        ).bindparams(bindparam("acts", expanding=True)),
                        {"acts": list(ACTIONS)},
                    ).all()
            finally:
                engine.dispose()
        for ref, version, counter, events in rows:
            assert version == 1 + counter == 1 + events, (p.name, ref, version, counter, events)
        total = sum(r[2] for r in rows)
        if 0 < total < result["successes"]:
            mid_storm += 1
    assert mid_storm >= 1, "no backup caught the writers mid-way"


def test_backup_restore_and_retention_are_for_admins(tmp_path, capsys, monkeypatch):
    """Root may always; otherwise the acting staff member needs the admin role."""
    url = f"sqlite:///{tmp_path / 'desk.sqlite'}"
    assert main(["--db", url, "staff", "add", "--login", "uid4242", "--role", "agent"]) == 0  # as root
    capsys.readouterr()
    monkeypatch.setattr(os, "getuid", lambda: 4242)  # a different OS account (no passwd entry: login "uid4242")
    for argv in (
        ["backup", str(tmp_path / "x.backup")],
        ["retention"],
        ["restore", str(tmp_path / "x.backup"), "--force"],
    ):
        assert main(["--db", url, *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "uid4242 (agent) may not" in err, err
    assert not (tmp_path / "x.backup").exists()
    monkeypatch.undo()
    d = open_desk(url)
    with d.session() as s:
        from sqlalchemy import update

        from models import Staff

        s.execute(update(Staff).where(Staff.login == "uid4242").values(role="admin"))
    d.dispose()
    monkeypatch.setattr(os, "getuid", lambda: 4242)
    assert main(["--db", url, "backup", str(tmp_path / "x.backup")]) == 0
    assert main(["--db", url, "retention"]) == 0
