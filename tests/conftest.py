"""Shared fixtures: fresh desks and a frozen demo desk for screens and reports."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pg_fixtures import engine_url, pg_url  # noqa: F401  (each test on SQLite and, marked `pg`, PostgreSQL)

# kept holiday dates (app.holiday_cache) never go to the developer's own cache,
# not even from a calendar built while tests are collected
os.environ.setdefault("ESIMDESK_CACHE_DIR", tempfile.mkdtemp(prefix="esimdesk-test-cache-"))

# A fixed instant: the demo desk is generated around it and screens freeze
# their clocks at it, so snapshots never change with the wall clock.
FROZEN_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
DEMO_SEED = 7
DEMO_TICKETS = 400
DEMO_LOGIN = "olivia"  # the demo's supervisor


def frozen_now() -> datetime:
    return FROZEN_NOW


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory, monkeypatch):
    """No test reads the developer's own config file or database."""
    cfg = tmp_path_factory.getbasetemp() / "empty-config.toml"
    if not cfg.exists():
        cfg.write_text("")
    monkeypatch.setenv("ESIMDESK_CONFIG", str(cfg))
    monkeypatch.delenv("ESIMDESK_DB", raising=False)
    from app import queue_filter

    queue_filter._choices.clear()  # a filter's kept read-plan choice belongs to one test's desk


@pytest.fixture
def desk_url(tmp_path):
    """URL of a fresh, empty desk (migrated on first open): an SQLite file, or
    a brand-new PostgreSQL database when the suite runs with
    ESIMDESK_TEST_ENGINE=pg (tests/run_suite.sh does, for its second pass)."""
    if os.environ.get("ESIMDESK_TEST_ENGINE") == "pg":
        from pg_fixtures import fresh_pg_database, require_pg

        with fresh_pg_database(require_pg()) as url:
            yield url
        return
    yield f"sqlite:///{tmp_path}/desk.sqlite"


@pytest.fixture
def desk(desk_url):
    from app.db import open_desk

    d = open_desk(desk_url)
    yield d
    _tally_is_a_recount(d)
    d.dispose()


def _tally_is_a_recount(d) -> None:
    """After every test on a desk: the wall's tally (kept by triggers in the
    transaction of each change, app/wall_tally.py) and its kept hours
    (app/wall_daily.py) equal a full recount."""
    from app import wall_daily, wall_tally

    with d.reader() as s:
        assert wall_tally.stored(s) == wall_tally.recounted(s), "wall tally differs from a recount"
        assert wall_daily.stored(s) == wall_daily.recounted(s), "wall daily hours differ from a recount"


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory) -> Path:
    from app.business_calendar import BusinessCalendar
    from app.db import open_desk
    from app.demo import build_demo
    from app.identity import os_login

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    d = open_desk(f"sqlite:///{path}")
    with d.session() as s:
        build_demo(
            s, DEMO_TICKETS, DEMO_SEED, FROZEN_NOW, BusinessCalendar("EE", None, "Europe/Tallinn"), login=os_login()
        )
    d.engine.dispose()
    return path


@pytest.fixture
def demo_url(_demo_template, tmp_path) -> str:
    """A private copy of the frozen demo desk (400 tickets, seed 7, FROZEN_NOW)."""
    target = tmp_path / "demo.sqlite"
    shutil.copyfile(_demo_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def demo_desk(demo_url):
    from app.db import open_desk

    d = open_desk(demo_url)
    yield d
    _tally_is_a_recount(d)
    d.dispose()


def pytest_collection_modifyitems(config, items):
    """`pg` tests need ESIMDESK_TEST_PG (tests/run_suite.sh starts a server).

    With ESIMDESK_TEST_ENGINE=pg (the suite's PostgreSQL pass) only the tests
    that run on a desk (`desk_url`, `desk`, `pg`-marked) are kept: each of
    them gets a fresh PostgreSQL database instead of an SQLite file."""
    if os.environ.get("ESIMDESK_TEST_ENGINE") == "pg":
        keep, drop = [], []
        for item in items:
            uses_desk = "desk_url" in getattr(item, "fixturenames", ())
            (keep if uses_desk or "pg" in item.keywords else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    if os.environ.get("ESIMDESK_TEST_PG"):
        return
    require = os.environ.get("ESIMDESK_REQUIRE_PG") == "1"
    skip = pytest.mark.skip(reason="no PostgreSQL server (set ESIMDESK_TEST_PG; `make test` starts one)")
    for item in items:
        if "pg" in item.keywords and not require:
            item.add_marker(skip)
