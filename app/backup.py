"""Consistent backups of a live desk, and putting them back.

SQLite: the online backup API (sqlite3 `Connection.backup`) copies the
database as of one instant while consoles keep working (WAL readers do not
block writers). PostgreSQL: `pg_dump -Fc` (one snapshot), `pg_restore`.
A backup is written to a temporary name beside PATH and renamed into place,
so a failed backup never leaves a half-written file under PATH.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from glob import glob
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from app.db import make_engine, normalise_url
from app.errors import DeskError, InputError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def _sqlite_file(url: str) -> Path:
    db = make_url(url).database
    if not db or db == ":memory:":
        raise InputError("an in-memory database cannot be backed up or restored")
    return Path(db).expanduser()


def _libpq(url: str) -> str:
    """The URL as libpq tools (pg_dump, pg_restore) want it."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def pg_tool(name: str) -> str:
    """The newest `name` (pg_dump, pg_restore) on this machine."""
    dirs = sorted(glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0, reverse=True)
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


def _target_tmp(path: Path) -> Path:
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name for the backup")
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist")
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def backup(desk_or_url, path: str | os.PathLike) -> dict:
    """Write a consistent copy of the desk's database to `path`.

    `desk_or_url` is an app.db.Desk or a database URL. Returns a summary
    (engine, path, bytes, tickets).
    """
    url = desk_or_url if isinstance(desk_or_url, str) else desk_or_url.url
    url = normalise_url(url)
    path = Path(path).expanduser().absolute()
    tmp = _target_tmp(path)
    backend = make_url(url).get_backend_name()
    try:
        if backend == "sqlite":
            src_file = _sqlite_file(url)
            if not src_file.exists():
                raise InputError(f"no database at {src_file}")
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
                    tickets = _count_sqlite(dst)
                finally:
                    dst.close()
            finally:
                src.close()
        else:
            proc = subprocess.run(
                [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(tmp), "--dbname", _libpq(url)],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise DeskError(f"pg_dump failed: {_first_line(proc.stderr)}")
            tickets = None
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"engine": backend, "path": str(path), "bytes": path.stat().st_size, "tickets": tickets}


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


def restore(url: str, path: str | os.PathLike, force: bool = False) -> dict:
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
    if has_tables(url) and not force:
        raise InputError("the target database already holds a desk; pass --force to replace it")
    if backend == "sqlite":
        target = _sqlite_file(url)
        if not target.parent.is_dir():
            raise InputError(f"folder {target.parent} does not exist")
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = src.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise InputError(f"backup {path} is damaged: {ok}")
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
        proc = subprocess.run(
            [pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "--dbname", _libpq(url), str(path)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise DeskError(f"pg_restore failed: {_first_line(proc.stderr)}")
        tickets = None
    return {"engine": backend, "path": str(path), "tickets": tickets}


__all__ = ["backup", "backup_format", "has_tables", "pg_tool", "restore"]
