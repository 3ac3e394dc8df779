"""A PostgreSQL demo build is committed in stages (app/demo_stages.py): one
killed part way leaves a half-built desk, which every command refuses in one
line and `esimdesk demo` puts back and builds again."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest
from sqlalchemy import text

from app import demo_bulk, demo_pipeline, demo_stages
from app.business_calendar import BusinessCalendar
from app.cli.main import main
from app.db import open_desk
from app.errors import DeskError
from conftest import FROZEN_NOW
from demo_fingerprint import fingerprint
from pg_fixtures import fresh_pg_database, pg_url  # noqa: F401  (fixture)
from test_demo_bulk import TRIGGERS

pytestmark = pytest.mark.pg

DEMO = ["demo", "--tickets", "300", "--seed", "7", "--now", FROZEN_NOW.isoformat()]


def _killed_build(url: str) -> None:
    """In a forked process: a build killed (SIGKILL, no clean-up) once its
    second chunk is committed and handed to the fillers."""
    from app.demo import build_demo

    demo_pipeline.CHUNK = 50
    written = demo_bulk.Load.written

    def then_killed(self, top):
        written(self, top)
        if top > 50:
            self.fillers.join()  # (the derived rows of the first chunks are in)
            os.kill(os.getpid(), signal.SIGKILL)

    demo_bulk.Load.written = then_killed
    desk = open_desk(url)
    with desk.session() as s:
        build_demo(s, 300, 7, FROZEN_NOW, BusinessCalendar("EE"), login="olivia")


def _schema(url: str) -> list:
    desk = open_desk(url, half_built_ok=True)
    try:
        with desk.reader() as s:
            return s.connection().execute(text(TRIGGERS["postgresql"])).all()
    finally:
        desk.dispose()


def test_a_killed_build_is_refused_then_built_again(pg_url, capsys):
    before = _schema(pg_url)
    child = multiprocessing.get_context("fork").Process(target=_killed_build, args=(pg_url,))
    child.start()
    child.join()
    assert child.exitcode == -signal.SIGKILL
    half = open_desk(pg_url, half_built_ok=True)
    try:
        with half.reader() as s:
            conn = s.connection()
            assert demo_stages.unfinished(conn)
            assert conn.exec_driver_sql("SELECT count(*) FROM ticket").scalar() > 50  # committed rows
            assert conn.exec_driver_sql("SELECT count(*) FROM search_doc").scalar() > 50
            assert conn.execute(text(TRIGGERS["postgresql"])).all() != before  # its indexes dropped
    finally:
        half.dispose()

    with pytest.raises(DeskError, match="demo build has not finished"):
        open_desk(pg_url)
    capsys.readouterr()
    for command in (["--as", "olivia", "search", "esim"], ["db", "current"], ["--as", "olivia"]):
        assert main(["--db", pg_url, *command]) == 2, command
        out, err = capsys.readouterr()
        assert err.strip() == f"esimdesk: {demo_stages.HALF_BUILT}" and not out, command

    assert main(["--db", pg_url, *DEMO]) == 0
    capsys.readouterr()
    assert _schema(pg_url) == before  # indexes, constraints and triggers as a new desk has them
    with fresh_pg_database() as fresh:
        assert main(["--db", fresh, *DEMO]) == 0
        built = [open_desk(url) for url in (pg_url, fresh)]
        try:
            prints = []
            for desk in built:
                with desk.reader() as s:
                    assert not demo_stages.unfinished(s.connection())
                    prints.append(fingerprint(s))
            assert prints[0] == prints[1]
        finally:
            for desk in built:
                desk.dispose()


def test_a_filler_failure_is_raised_and_the_desk_put_back(pg_url, monkeypatch):
    """A statement failing on a filler's connection fails the build, and
    the desk is as it was before it (no row, its indexes, no marker)."""
    from app.demo import build_demo

    before = _schema(pg_url)
    monkeypatch.setattr(demo_pipeline, "CHUNK", 40)
    monkeypatch.setattr(demo_bulk, "PG_FILLS", ("search_reindex", "no_such_fill"))
    desk = open_desk(pg_url)
    try:
        with pytest.raises(Exception, match="no_such_fill"), desk.session() as s:
            build_demo(s, 200, 7, FROZEN_NOW, BusinessCalendar("EE"), login="olivia")
        with desk.reader() as s:
            assert not demo_stages.unfinished(s.connection())
            assert s.connection().exec_driver_sql("SELECT count(*) FROM ticket").scalar() == 0
            assert s.connection().exec_driver_sql("SELECT count(*) FROM search_doc").scalar() == 0
    finally:
        desk.dispose()
    assert _schema(pg_url) == before
