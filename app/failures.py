"""Any failure as the one line a person can act on.

The CLI's edge (app/cli/main.py) and the console's workers hand every
exception that is not already a DeskError to `one_line`: a damaged or foreign
database file, a lock held by a colleague, a value too long for PostgreSQL, a
file the account may not read, input nested too deeply... each becomes one
sentence naming the thing and the next step. Nothing here prints a traceback;
`ESIMDESK_DEBUG=1` makes the CLI print it as well, for a developer.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url

from app.errors import DeskError

RESTORE_HINT = "restore a backup (esimdesk restore PATH)"

# SQLite messages (sqlite3 and through SQLAlchemy), lower case
_DAMAGED = (
    "file is not a database",
    "database disk image is malformed",
    "file is encrypted",
    "malformed database schema",
)
_LOCKED = ("database is locked", "database table is locked")
_READ_ONLY = ("readonly database", "read-only database")
_NO_TABLE = ("no such table", "no such column")

# PostgreSQL SQLSTATEs
_PG_TOO_LONG = "22001"
_PG_LOCK = "55P03"
_PG_CANCELED = "57014"
_PG_DEADLOCK = "40P01"
_PG_NO_TABLE = ("42P01", "42703")
_PG_OUT_OF_RANGE = ("22003", "22008", "22007", "22P02", "22021", "54000")


def database_name(url: str | None) -> str:
    """The database as a person knows it: the file of an SQLite URL, else the
    URL without its password."""
    if not url:
        return "the database"
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a malformed URL is named as given
        return "the database"
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def damaged(url: str | None) -> str:
    return f"{database_name(url)} is not an esimdesk database or is damaged: {RESTORE_HINT}"


def _first_line(text: object) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _driver_error(exc: BaseException) -> BaseException:
    """The DB-API error under SQLAlchemy's wrapper (or `exc` itself)."""
    return getattr(exc, "orig", None) or exc


def database_line(exc: BaseException, url: str | None = None, reference: str | None = None) -> str | None:
    """One line for a database error, or None when `exc` is not one."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    orig = _driver_error(exc)
    is_pg = type(orig).__module__.startswith("psycopg")
    if not isinstance(exc, (SQLAlchemyError, sqlite3.Error)) and not is_pg:
        return None
    name = database_name(url)
    text = _first_line(orig)
    low = text.lower()
    state = getattr(orig, "sqlstate", None)
    if isinstance(orig, sqlite3.Error) or not is_pg:
        if any(m in low for m in _DAMAGED):
            return damaged(url)
        if any(m in low for m in _LOCKED):
            return f"{reference or name} is being changed by someone else (the database is busy); try again"
        if any(m in low for m in _READ_ONLY):
            return f"{name} is read-only for this account; ask an admin for write access (or work on a copy)"
        if any(m in low for m in _NO_TABLE):
            return f"{name} does not hold an esimdesk desk at this program's schema ({text}): run esimdesk db upgrade, or {RESTORE_HINT}"
        if "unable to open database" in low or "disk i/o error" in low:
            return f"cannot open {name}: {text}"
    if state in (_PG_LOCK, _PG_DEADLOCK):
        return f"{reference or 'this record'} is being changed by someone else; try again"
    if state == _PG_CANCELED:
        return (
            "the database took longer than [database] statement_timeout_seconds allows; nothing was changed; try again"
        )
    if state == _PG_TOO_LONG:
        return f"a value is longer than the database allows ({text}); shorten it"
    if state in _PG_NO_TABLE:
        return f"{name} does not hold an esimdesk desk at this program's schema: run esimdesk db upgrade, or {RESTORE_HINT}"
    if state in _PG_OUT_OF_RANGE:
        return f"a value is out of range for the database: {text}"
    if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or (
        "connection" in low and ("refused" in low or "failed" in low)
    ):
        return f"cannot reach {name}: {text}"
    return f"database error on {name}: {text or type(orig).__name__}"


def as_desk_error(exc: BaseException, url: str | None = None) -> DeskError:
    """`exc` as a DeskError carrying its one line: what a console worker shows
    in place when the database failed under it (a server that went away, a
    damaged file, a lock) instead of ending the console with a traceback."""
    return exc if isinstance(exc, DeskError) else DeskError(one_line(exc, url))


def one_line(exc: BaseException, url: str | None = None, reference: str | None = None) -> str:
    """`exc` as one line (never empty, never more than one line)."""
    if isinstance(exc, DeskError):
        return str(exc)
    line = database_line(exc, url, reference)
    if line is None:
        if isinstance(exc, RecursionError):
            line = "input is nested too deeply to read"
        elif isinstance(exc, MemoryError):
            line = "input is too large to process"
        elif isinstance(exc, OverflowError):
            line = f"a number is out of range: {_first_line(exc)}"
        elif isinstance(exc, UnicodeError):
            line = f"text is not valid UTF-8: {_first_line(exc)}"
        elif isinstance(exc, ValueError):
            line = f"bad value: {_first_line(exc)}"
        elif isinstance(exc, OSError):
            what = exc.filename if exc.filename is not None else ""
            line = (
                f"{what}: {exc.strerror or _first_line(exc)}"
                if what
                else (exc.strerror or _first_line(exc) or type(exc).__name__)
            )
        else:
            line = f"unexpected {type(exc).__name__}: {_first_line(exc) or 'no detail'} (ESIMDESK_DEBUG=1 shows where)"
    return " ".join(line.split()) or type(exc).__name__
