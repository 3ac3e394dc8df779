"""Consistent backups of a live desk, and putting them back.

SQLite: the online backup API (sqlite3 `Connection.backup`) copies the
database as of one instant while consoles keep working (WAL readers do not
block writers). PostgreSQL: `pg_dump -Fc` (one snapshot), `pg_restore`.
A backup is written to a temporary name beside PATH (created 0600: it holds
every customer's data) and renamed into place, so a failed backup never
leaves a half-written file under PATH; the temporary file goes on any exit
(SIGTERM included), and one left by a killed run is removed by the next.
The PostgreSQL password reaches pg_dump/pg_restore through PGPASSWORD in
their environment, never on their command line (which every local user can
read in the process list).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from app.db import Desk, make_engine, normalise_url
from app.errors import DeskError, InputError
from app.labels import plural

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def _sqlite_file(url: str) -> Path:
    db = make_url(url).database
    if not db or db == ":memory:":
        raise InputError("an in-memory database cannot be backed up or restored")
    return Path(db).expanduser()


def libpq_args(url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq tools (pg_dump, pg_restore) want it, without its
    password, and the environment that carries the password (PGPASSWORD)."""
    parsed = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed._replace(password=None).render_as_string(hide_password=False), env


def pg_tool(name: str) -> str:
    """The newest `name` (pg_dump, pg_restore) on this machine."""
    dirs = sorted(
        glob("/usr/lib/postgresql/*/bin"),
        key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0,
        reverse=True,
    )
    for d in dirs:
        candidate = Path(d) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise DeskError(f"{name} not found: install the PostgreSQL client tools")


def backup_format(path: Path) -> str:
    """'sqlite' or 'pg_dump', from the file's first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InputError(f"cannot read backup {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pg_dump"
    raise InputError(f"{path} is not an esimdesk backup (neither an SQLite database nor a pg_dump archive)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_partials(path: Path) -> list[Path]:
    """Remove `.NAME.partial-PID` files a killed backup left beside `path`."""
    removed: list[Path] = []
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.partial-(\d+)$")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if m and (int(m.group(1)) == os.getpid() or not _pid_alive(int(m.group(1)))):
            try:
                (path.parent / name).unlink()
                removed.append(path.parent / name)
            except OSError:
                pass
    return removed


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name for the backup")
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist")


def _target_tmp(path: Path) -> Path:
    _check_target(path)
    clean_partials(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:  # private from the first byte (umask or not), never through a symlink
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except OSError as exc:
        raise InputError(f"cannot write a backup in {path.parent}: {exc.strerror}") from None
    return tmp


@contextmanager
def _terminated_as_exception() -> Iterator[None]:
    """SIGTERM (systemd stop, kill) raises SystemExit here, so the cleanup of
    a partial file runs instead of the process vanishing."""

    def _raise(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def backup(desk_or_url: Desk | str, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Write a consistent copy of the desk's database to `path`.

    `desk_or_url` is an app.db.Desk or a database URL. Returns a summary
    (engine, path, bytes, tickets).
    """
    url = desk_or_url if isinstance(desk_or_url, str) else desk_or_url.url
    url = normalise_url(url)
    path = Path(path).expanduser().absolute()
    backend = make_url(url).get_backend_name()
    _check_target(path)
    if backend == "sqlite" and not _sqlite_file(url).exists():
        raise InputError(f"no database at {_sqlite_file(url)}")
    tmp = _target_tmp(path)
    try:
        with _terminated_as_exception():
            tickets = None
            if backend == "sqlite":
                tickets = _write_sqlite_copy(_sqlite_file(url), tmp)
            else:
                _write_pg_dump(url, tmp)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"engine": backend, "path": str(path), "bytes": path.stat().st_size, "tickets": tickets}


def _write_sqlite_copy(src_file: Path, tmp: Path) -> int | None:
    """The online backup API: a snapshot of one instant; the ticket count."""
    src = sqlite3.connect(src_file, timeout=15)
    src.execute("PRAGMA busy_timeout = 15000")
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # one step: a snapshot of one instant
            dst.execute("PRAGMA journal_mode = DELETE")  # a self-contained single file
            ok = dst.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise DeskError(f"backup copy failed its integrity check: {ok}")
            return _count_sqlite(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _write_pg_dump(url: str, tmp: Path) -> None:
    dbname, env = libpq_args(url)
    proc = subprocess.run(
        [
            pg_tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(tmp),
            "--dbname",
            dbname,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise DeskError(f"pg_dump failed: {_first_line(proc.stderr)}")


def _count_sqlite(conn: sqlite3.Connection) -> int | None:
    try:
        return int(conn.execute("SELECT count(*) FROM ticket").fetchone()[0])
    except sqlite3.Error:
        return None


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[0] if lines else "unknown error"


def has_tables(url: str) -> bool:
    """Whether the database at `url` holds any table (an existing desk)."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        f = _sqlite_file(url)
        if not f.exists() or f.stat().st_size == 0:
            return False
    engine = make_engine(url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- other sessions on the target ---------------------------------------------


def _sqlite_holders(db_file: Path) -> list[int]:
    """Processes (other than this one) with the SQLite file or its WAL open."""
    wanted = set()
    for suffix in ("", "-wal", "-shm"):
        try:
            wanted.add(os.path.realpath(str(db_file) + suffix))
        except OSError:
            pass
    holders = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}") in wanted:
                    holders.append(int(entry))
                    break
        except OSError:  # gone, or not ours to look at
            continue
    return holders


def _is_esimdesk(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ")
    except OSError:
        return False
    return b"esimdesk" in cmd or b"app.cli.main" in cmd


def other_sessions(url: str) -> list[str]:
    """Who else is connected to the database at `url` (as "pid N ...")."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return [f"pid {pid}" for pid in _sqlite_holders(_sqlite_file(url))]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT pid, usename, application_name FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).all()
    finally:
        engine.dispose()
    return [f"pid {pid} ({user}{' ' + app if app else ''})" for pid, user, app in rows]


def stop_sessions(url: str, wait_seconds: float = 10.0) -> int:
    """Stop the other sessions on `url` before a forced restore: PostgreSQL
    backends are terminated; SQLite holders that are esimdesk processes get
    SIGTERM. Refuses (DeskError) when some remain. Returns how many stopped."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                n = (
                    conn.exec_driver_sql(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    ).scalar()
                    or 0
                )
        finally:
            engine.dispose()
        return int(n)
    db_file = _sqlite_file(url)
    holders = _sqlite_holders(db_file)
    strangers = [pid for pid in holders if not _is_esimdesk(pid)]
    if strangers:
        raise DeskError(
            f"other programs have {db_file} open (pid {', '.join(map(str, strangers))}); close them, then restore"
        )
    for pid in holders:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline and _sqlite_holders(db_file):
        time.sleep(0.1)
    left = _sqlite_holders(db_file)
    if left:
        raise DeskError(f"sessions still use {db_file} (pid {', '.join(map(str, left))}); stop them, then restore")
    return len(holders)


def target_state(url: str) -> str:
    """ "empty", "desk" (holds tables) or "damaged" (an SQLite file that is
    not a database or is cut short: only a forced restore may replace it)."""
    from sqlalchemy.exc import DBAPIError

    from app.failures import RESTORE_HINT, one_line

    try:
        return "desk" if has_tables(url) else "empty"
    except (DeskError, DBAPIError, sqlite3.DatabaseError) as exc:
        if make_url(normalise_url(url)).get_backend_name() == "sqlite" and RESTORE_HINT in one_line(exc, url):
            return "damaged"
        raise


def restore(url: str, path: str | os.PathLike[str], force: bool = False) -> dict[str, Any]:
    """Put the backup at `path` into the database at `url`.

    Refuses to overwrite a database that already holds tables unless `force`.
    An SQLite backup restores into SQLite, a pg_dump archive into PostgreSQL.
    """
    url = normalise_url(url)
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"no backup file at {path}")
    fmt = backup_format(path)
    backend = make_url(url).get_backend_name()
    wanted = "sqlite" if backend == "sqlite" else "pg_dump"
    if fmt != wanted:
        raise InputError(f"{path} is a {fmt} backup; it cannot be restored into a {backend} database")
    state = target_state(url)
    if state == "damaged" and not force:
        raise InputError("the target database is damaged; pass --force to replace it with the backup")
    if state == "desk" and not force:
        raise InputError("the target database already holds a desk; pass --force to replace it")
    others = other_sessions(url)
    if others and not force:
        raise InputError(
            f"{plural(len(others), 'other session')} use{'s' if len(others) == 1 else ''} the target database ({'; '.join(others[:3])}); "
            "close them, or pass --force to stop them and restore"
        )
    stopped = stop_sessions(url) if others else 0
    if backend == "sqlite":
        target = _sqlite_file(url)
        if not target.parent.is_dir():
            raise InputError(f"folder {target.parent} does not exist")
        if state == "damaged":  # nothing in it can be kept: start from an empty file
            for suffix in ("", "-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            try:
                ok = src.execute("PRAGMA quick_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                ok = str(exc)
            if ok != "ok":
                raise InputError(f"backup {path} is damaged ({ok}); use another backup")
            dst = sqlite3.connect(target, timeout=15)
            try:
                dst.execute("PRAGMA busy_timeout = 15000")
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = WAL")
                tickets = _count_sqlite(dst)
            finally:
                dst.close()
        finally:
            src.close()
    else:
        dbname, env = libpq_args(url)
        proc = subprocess.run(
            [
                pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                dbname,
                str(path),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if proc.returncode != 0:
            raise DeskError(f"pg_restore failed: {_first_line(proc.stderr)}")
        tickets = None
    return {"engine": backend, "path": str(path), "tickets": tickets, "sessions_stopped": stopped}


__all__ = [
    "backup",
    "backup_format",
    "clean_partials",
    "has_tables",
    "libpq_args",
    "other_sessions",
    "pg_tool",
    "restore",
    "stop_sessions",
]
