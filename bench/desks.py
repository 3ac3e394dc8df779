"""The benchmarks' large demo desks: built once, reused after, on either engine.

`desk_url(tickets, engine)` is the URL of a demo desk of `tickets` tickets
(app.demo.build_demo, seed 7, the bench's fixed "now"):
- sqlite: bench/.cache/console-<N>k.sqlite, built under another name and
  renamed when complete, so a build cut short is never reused;
- pg: database esimdesk_bench_<N>k on the server at $ESIMDESK_BENCH_PG (else
  $ESIMDESK_TEST_PG; `tests/pg_cluster.sh start` prints one), built as
  esimdesk_bench_<N>k_building and renamed when complete. With
  $ESIMDESK_BENCH_SUFFIX set the database is esimdesk_bench_<N>k_<suffix>:
  a branch benches its own copy (CREATE DATABASE ... TEMPLATE the shared
  one) whose schema its own migrations move on.
A reused desk is brought to the current schema first (`db upgrade`). This is
what makes `--scale 1m` affordable: the million-ticket desk is built once.

Before it is measured, a desk's pages are read into the operating system's
cache (`warm`): a desk in daily use has them there, and a cold first run after
other disk work moved the 1M At risk switch from about 70 to 690 ms. The
time the read took is printed, so a cold desk shows as one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
DEMO_NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
SCALES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
ENGINES = ("sqlite", "pg")
PG_ENV = ("ESIMDESK_BENCH_PG", "ESIMDESK_TEST_PG")


class NoServer(RuntimeError):
    """No PostgreSQL server to bench on."""


def pg_server() -> str:
    for name in PG_ENV:
        if os.environ.get(name):
            return os.environ[name]
    raise NoServer("no PostgreSQL server: set ESIMDESK_BENCH_PG (url=$(bash tests/pg_cluster.sh start) prints one)")


def _libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.rpartition("/")
    query = "?" + tail.split("?", 1)[1] if "?" in tail else ""
    return f"{head}/{name}{query}"


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the bench's PostgreSQL server for one run (its URL), dropped after."""
    import psycopg

    server = pg_server()
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(_libpq(server), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server, name)
    finally:
        with psycopg.connect(_libpq(server), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _build(url: str, tickets: int) -> float:
    from app.business_calendar import BusinessCalendar
    from app.db import open_desk
    from app.demo import build_demo, build_session

    started = time.perf_counter()
    desk = open_desk(url)
    try:
        with build_session(desk) as s:
            build_demo(s, tickets, 7, DEMO_NOW, BusinessCalendar("EE"), login="olivia")
    finally:
        desk.dispose()
    return time.perf_counter() - started


def _upgrade(url: str) -> None:
    from app.db import make_engine
    from app.migrations_runner import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def warm(url: str, *, log=print) -> None:
    """Read the desk at `url` into the OS page cache: the SQLite file (and its
    WAL) end to end, or every table and index of a PostgreSQL database through
    pg_prewarm's 'read' mode (nothing, with a line saying so, where the server
    lacks that extension)."""
    started = time.perf_counter()
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        size = 0
        for part in (path, Path(f"{path}-wal")):
            if part.exists():
                with part.open("rb", buffering=0) as f:
                    while chunk := f.read(1 << 20):
                        size += len(chunk)
        log(f"warm: read {size / 1e9:.2f} GB of {path.name} in {time.perf_counter() - started:.1f} s")
        return
    import psycopg

    try:
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            row = conn.execute(
                "SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relkind IN ('r', 'i', 't', 'm')"
            ).fetchone()
    except psycopg.Error as exc:
        log(f"warm: not done ({str(exc).strip().splitlines()[0]})")
        return
    blocks = int(row[0]) if row else 0
    log(f"warm: read {blocks * 8192 / 1e9:.2f} GB of the database in {time.perf_counter() - started:.1f} s")


def desk_url(tickets: int, engine: str = "sqlite", *, log=print) -> tuple[str, float | None]:
    """(URL of the demo desk with `tickets` tickets on `engine`, seconds its
    build took, or None when an existing one was reused)."""
    if engine == "sqlite":
        CACHE.mkdir(parents=True, exist_ok=True)
        path = CACHE / f"console-{tickets // 1000}k.sqlite"
        if path.exists():
            _upgrade(f"sqlite:///{path}")
            warm(f"sqlite:///{path}", log=log)
            return f"sqlite:///{path}", None
        tmp = path.with_suffix(".building")
        tmp.unlink(missing_ok=True)
        log(f"building the {tickets:,}-ticket demo desk once: {path}")
        took = _build(f"sqlite:///{tmp}", tickets)
        tmp.rename(path)
        return f"sqlite:///{path}", took
    if engine != "pg":
        raise ValueError(f"engine {engine!r}: sqlite or pg")
    import psycopg

    server = pg_server()
    name = f"esimdesk_bench_{tickets // 1000}k"
    if os.environ.get("ESIMDESK_BENCH_SUFFIX"):
        name += "_" + os.environ["ESIMDESK_BENCH_SUFFIX"]
    url = _with_database(server, name)
    with psycopg.connect(_libpq(server), autocommit=True) as conn:
        have = {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'esimdesk_bench_%'")}
        if name in have:
            _upgrade(url)
            warm(url, log=log)
            return url, None
        building = name + "_building"
        conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{building}"')
    log(f"building the {tickets:,}-ticket demo desk once: database {name}")
    took = _build(_with_database(server, building), tickets)
    with psycopg.connect(_libpq(server), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return url, took
