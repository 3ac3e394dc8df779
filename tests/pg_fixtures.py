"""PostgreSQL fixtures for the suite (import them into tests/conftest.py).

tests/run_suite.sh starts a throwaway cluster (tests/pg_cluster.sh) and
exports ESIMDESK_TEST_PG=<url of its maintenance database>. Each test that
asks for `pg_url` gets a brand-new database on that server, dropped after the
test. Without ESIMDESK_TEST_PG such tests skip, unless ESIMDESK_REQUIRE_PG=1,
in which case they fail with a clear message (CI sets it: no test may be
skipped there for want of a server).

`engine_url` is parametrised over both engines: a fresh SQLite file and (marked
`pg`) a fresh PostgreSQL database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ENV = "ESIMDESK_TEST_PG"
REQUIRE_ENV = "ESIMDESK_REQUIRE_PG"


def pg_base_url() -> str | None:
    """The test server's URL from $ESIMDESK_TEST_PG, or None."""
    return os.environ.get(PG_ENV) or None


def _libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://…) as libpq wants it."""
    _scheme, rest = url.split("://", 1)
    return "postgresql://" + rest


def with_database(url: str, dbname: str) -> str:
    """`url` pointing at database `dbname` instead."""
    head, _, tail = url.rpartition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{head}/{dbname}{query}"


def require_pg() -> str:
    """The server URL, or skip (fail when ESIMDESK_REQUIRE_PG=1)."""
    url = pg_base_url()
    if url:
        return url
    message = f"no PostgreSQL server: set {PG_ENV} (tests/run_suite.sh starts one with tests/pg_cluster.sh)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message}; {REQUIRE_ENV}=1 forbids skipping", pytrace=False)
    pytest.skip(message)
    raise AssertionError  # unreachable


@contextmanager
def fresh_pg_database(base_url: str | None = None, prefix: str = "esimdesk_t") -> Iterator[str]:
    """Create an empty database on the test server; yield its URL; drop it."""
    import psycopg

    base = base_url or require_pg()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq_url(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(base, name)
    finally:
        try:
            with psycopg.connect(_libpq_url(base), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    with fresh_pg_database(require_pg()) as url:
        yield url


def sqlite_url(directory: Path, name: str = "desk.sqlite") -> str:
    return f"sqlite:///{directory / name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each engine in turn."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with fresh_pg_database(require_pg()) as url:
        yield url


__all__ = ["engine_url", "fresh_pg_database", "pg_base_url", "pg_url", "require_pg", "sqlite_url", "with_database"]
