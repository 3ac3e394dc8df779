"""The database: engine settings per backend, sessions and migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout and foreign
keys on, and every transaction starts with BEGIN IMMEDIATE, so a
read-then-write never fails half-way with "database is locked" and never loses
a colleague's update. PostgreSQL runs through psycopg 3.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Mapper
from sqlmodel import Session

from app import search_words
from app.config import DeskConfig
from app.errors import ConfigError, DeskError, InputError

if TYPE_CHECKING:
    from app.grouped_writes import GroupedWrites

SQLITE_BUSY_TIMEOUT_MS = 15000
# After a checkpoint the WAL file is cut back to this size (a long reader may
# let it grow meanwhile; it does not stay grown).
SQLITE_JOURNAL_SIZE_LIMIT = 32 * 1024 * 1024
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 1000
# ... and during a grouped batch (Desk.grouped): a checkpoint every few groups, not every other one,
# and a page cache (KiB, negative) that holds what a group reads and writes (SQLite's default: 2 MiB)
SQLITE_BATCH_AUTOCHECKPOINT_PAGES = 8000
SQLITE_BATCH_CACHE = -32 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"

_P = ParamSpec("_P")
_R = TypeVar("_R")


def default_sqlite_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("esimdesk")) / "desk.sqlite"


def resolve_url(cli_url: str | None, config: DeskConfig | None = None) -> str:
    """--db, then $ESIMDESK_DB, then the config file, then the user data dir."""
    url = cli_url or os.environ.get("ESIMDESK_DB") or (config.database_url if config else None)
    if not url:
        path = default_sqlite_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    return normalise_url(url)


def normalise_url(url: str) -> str:
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a non-numeric port fails here, not at connect
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"malformed database URL {url!r} (expected e.g. sqlite:///path/desk.sqlite or postgresql://user@host/db)"
        ) from None
    try:
        backend = parsed.get_backend_name()
        parsed.get_dialect()
    except Exception:  # noqa: BLE001 - NoSuchModuleError, a driver that is not installed...
        raise ConfigError(
            f"unsupported database driver {parsed.drivername!r}: use sqlite:///PATH or postgresql://user@host/db"
        ) from None
    if backend == "postgresql" and parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {backend!r}: use sqlite or postgresql")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ConfigError(
            f"unsupported database driver {parsed.drivername!r}: use sqlite:///PATH or postgresql://user@host/db"
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_setup(engine: Engine, busy_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:  # a DBAPI (sqlite3) connection
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute(f"PRAGMA journal_size_limit = {SQLITE_JOURNAL_SIZE_LIMIT}")
        cur.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cur.close()
        search_words.register(dbapi_conn)  # the filter's triggers call it (migration 0029)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front (no lost update, no "database is
        # locked" half-way); readers (Desk.reader) need no lock in WAL mode.
        read_only = conn.get_execution_options().get("esimdesk_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def check_sqlite_file(path: Path, url: str) -> None:
    """Refuse a file that is not an SQLite database, or one cut short (its
    header promises more pages than the file holds), before any query."""
    try:
        size = path.stat().st_size
        if size == 0:
            return  # a new, empty database
        with open(path, "rb") as fh:
            header = fh.read(100)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise DeskError(f"cannot open {path}: {exc.strerror or exc}") from None
    from app.failures import damaged

    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise DeskError(damaged(url))
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid_for, counter = header[92:96], header[24:28]
    if page_size < 512 or page_size & (page_size - 1) or (valid_for == counter and pages * page_size > size):
        raise DeskError(damaged(url))


def _pg_options(lock_timeout: float | None, statement_timeout: float | None) -> str:
    parts = []
    if lock_timeout:
        parts.append(f"-c lock_timeout={int(lock_timeout * 1000)}")
    if statement_timeout:
        parts.append(f"-c statement_timeout={int(statement_timeout * 1000)}")
    return " ".join(parts)


_LIMITS: dict[Mapper[Any], list[tuple[str, str, int]]] = {}


def _column_limits(mapper: Mapper[Any]) -> list[tuple[str, str, int]]:
    """(attribute, column, length) of the mapper's bounded text columns."""
    limits = _LIMITS.get(mapper)
    if limits is None:
        limits = [
            (attr.key, col.name, length)
            for attr in mapper.column_attrs
            for col in attr.columns
            if isinstance(length := getattr(col.type, "length", None), int)
        ]
        _LIMITS[mapper] = limits
    return limits


@event.listens_for(Session, "before_flush")
def _refuse_over_long_text(session: Session, _context: object, _instances: object) -> None:
    """A text longer than its column is refused with one line on both engines
    (PostgreSQL would fail the statement, SQLite would store it whole)."""
    from sqlalchemy import inspect as sa_inspect

    for obj in (*session.new, *session.dirty):
        mapper = sa_inspect(obj).mapper
        for attr, column, length in _column_limits(mapper):
            value = getattr(obj, attr, None)
            if isinstance(value, str) and len(value) > length:
                raise InputError(
                    f"{mapper.local_table.name}.{column} is {len(value)} characters long; at most {length} fit"
                )


def make_engine(
    url: str,
    *,
    lock_timeout: float | None = 5.0,
    statement_timeout: float | None = 300.0,
    sqlite_busy: float = SQLITE_BUSY_TIMEOUT_MS / 1000,
    **kwargs: Any,
) -> Engine:
    """An engine for `url`. PostgreSQL sessions get `lock_timeout` and
    `statement_timeout` (seconds; None = no limit), so a row held by a
    colleague is a quick "try again", never a hang."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            path = Path(db).expanduser()
            parent = path.resolve().parent
            if not parent.is_dir():
                raise ConfigError(f"database folder {parent} does not exist")
            check_sqlite_file(path, url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": sqlite_busy}, **kwargs)
        _sqlite_setup(engine, int(sqlite_busy * 1000))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    options = _pg_options(lock_timeout, statement_timeout)
    if options:
        kwargs.setdefault("connect_args", {}).setdefault("options", options)
    return create_engine(url, **kwargs)


@contextmanager
def committed(session: Session) -> Iterator[Session]:
    """Commit `session` when the block succeeds, roll it back when it fails."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def _memory_statement_journals(conn: Connection) -> Iterator[None]:
    """SQLite: while the block runs, the connection keeps its statement journals
    (and any temporary table) in memory instead of in temporary files.

    A write with triggers inside a transaction opens a statement journal (the
    undo of that statement alone); in a file that cost about 40 of a new
    ticket's ~80 us of CPU in an intake group (measured: a fresh desk, 2,000
    ticket inserts in one transaction). It only ever serves to undo a
    statement of the open transaction: a process killed meanwhile loses that
    transaction whole, which the WAL alone decides (its frames without a
    commit are never read), so nothing of it needs to outlive the process."""
    dbapi = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
    if dbapi is None:
        yield
        return
    before = dbapi.execute("PRAGMA temp_store").fetchone()[0]  # no transaction is begun for it
    dbapi.execute("PRAGMA temp_store = MEMORY")
    try:
        yield
    finally:
        if conn.connection.dbapi_connection is dbapi:  # still this connection (not invalidated)
            dbapi.execute(f"PRAGMA temp_store = {int(before)}")


@contextmanager
def _batch_pages(conn: Connection) -> Iterator[None]:
    """SQLite: while the block runs, the connection checkpoints the WAL every
    SQLITE_BATCH_AUTOCHECKPOINT_PAGES pages instead of every
    SQLITE_WAL_AUTOCHECKPOINT_PAGES, and once more (passive) when the block
    ends without error, so the next writer does not inherit the batch's WAL;
    and its page cache is SQLITE_BATCH_CACHE instead of 2 MiB.

    An intake group of 256 messages writes about 1,300 pages to the WAL, so
    with the default a checkpoint ran at every other commit: about 10 ms of
    CPU each, copying the pages the groups rewrite again and again (the
    indexes' last pages, the search index's segments) once per checkpoint.
    And 2 MiB held less than a group touches: every message read about 10
    pages back from the file. Measured on the intake bench: writes 29 -> 22
    KB a message, reads 37 -> 9 KB (10 -> 4 read calls). A checkpoint only
    copies committed pages from the WAL into the database file; what is
    committed, and what a kill loses, is the same."""
    dbapi = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
    if dbapi is None:
        yield
        return
    before = [(p, dbapi.execute(f"PRAGMA {p}").fetchone()[0]) for p in ("wal_autocheckpoint", "cache_size")]
    dbapi.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_BATCH_AUTOCHECKPOINT_PAGES}")
    dbapi.execute(f"PRAGMA cache_size = {SQLITE_BATCH_CACHE}")
    try:
        yield
        if conn.connection.dbapi_connection is dbapi and not dbapi.in_transaction:
            dbapi.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        if conn.connection.dbapi_connection is dbapi:  # still this connection (not invalidated)
            for pragma, value in before:
                dbapi.execute(f"PRAGMA {pragma} = {int(value)}")


class Desk:
    """One desk's database: the engine plus a session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success, rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session, committed(session):
            yield session

    @contextmanager
    def batch(self) -> Iterator[Callable[[], AbstractContextManager[Session]]]:
        """For a batch of small writes (intake): one connection and one session
        held for the batch, and `transaction()` giving a transaction per item
        (`with transaction() as session:` commits on success, rolls back on
        error). Between items no transaction is open, so nothing stays
        locked; each item only saves a pool checkout and a new session."""
        with self.engine.connect() as conn, Session(bind=conn, expire_on_commit=False) as session:

            @contextmanager
            def transaction() -> Iterator[Session]:
                try:
                    with committed(session):
                        yield session
                finally:
                    session.expunge_all()

            yield transaction

    @contextmanager
    def grouped(self, size: int, seconds: float) -> Iterator[GroupedWrites]:
        """For a long batch of small writes committed several at a time
        (app.grouped_writes): one connection and session for the batch; the
        last group commits when the block ends, and is rolled back if it fails."""
        from app.grouped_writes import GroupedWrites

        with (
            self.engine.connect() as conn,
            _memory_statement_journals(conn),
            _batch_pages(conn),
            Session(bind=conn, expire_on_commit=False) as session,
        ):
            writes = GroupedWrites(session, size, seconds)
            try:
                yield writes
            except BaseException:
                writes.rollback()
                raise
            writes.commit()

    def read(self, fn: Callable[Concatenate[Session, _P], _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """`fn(session, *args, **kwargs)` in a read-only transaction of its own:
        how screens and widgets read (a read model or service function), never
        holding a session themselves."""
        with self.reader() as s:
            return fn(s, *args, **kwargs)

    def write(self, fn: Callable[Concatenate[Session, _P], _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """`fn(session, *args, **kwargs)` in a transaction of its own, committed
        when it returns (screens' small writes: presence, recall)."""
        with self.session() as s:
            return fn(s, *args, **kwargs)

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads only (never commits)."""
        with Session(self.engine.execution_options(esimdesk_read_only=True), expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


def open_desk(url: str, migrate: bool = True, config: DeskConfig | None = None, half_built_ok: bool = False) -> Desk:
    """Open the desk's database; a new (empty) database is migrated on first use.

    A desk whose demo build was stopped part way (PostgreSQL) is refused
    unless `half_built_ok` (the demo command, which builds it again).

    An existing database at an older schema is left alone (`esimdesk db
    upgrade` moves it); one at a newer schema than this program knows is
    refused with a clear message.
    """
    from app.demo_stages import HALF_BUILT, unfinished
    from app.failures import damaged, database_line
    from app.migrations_runner import ensure_schema

    timeouts: dict[str, Any] = {}
    if config is not None:
        timeouts = {
            "lock_timeout": config.setting("database", "lock_timeout_seconds"),
            "statement_timeout": config.setting("database", "statement_timeout_seconds"),
            "sqlite_busy": config.setting("database", "sqlite_busy_seconds"),
        }
    engine = make_engine(url, **timeouts)
    half_built = False
    try:
        with engine.execution_options(esimdesk_read_only=True).connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("SELECT 1")
                conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
            else:  # (the one round trip: is a demo build unfinished, app/demo_stages.py)
                half_built = unfinished(conn)
    except OperationalError as exc:
        engine.dispose()
        line = database_line(exc, url)
        if line and "damaged" in line:
            raise DeskError(line) from None
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise DeskError(
            f"cannot open database {make_url(url).render_as_string(hide_password=True)}: {reason}"
        ) from None
    except (DBAPIError, sqlite3.Error):
        engine.dispose()
        raise DeskError(damaged(url)) from None
    if half_built and not half_built_ok:
        engine.dispose()
        raise DeskError(HALF_BUILT)
    if migrate:
        try:
            ensure_schema(engine)
        except BaseException:
            engine.dispose()
            raise
    return Desk(engine)
