"""A batch's new tickets indexed once, at its commit (migrations 0023, 0028).

`defer_new_ticket_index(session)`: every transaction the session begins from
then on builds the search and filter documents of the tickets it writes at
its commit, all in one statement each, instead of at each row's insert:
- PostgreSQL: the transaction-local setting of 0023; a deferred constraint
  trigger builds them at COMMIT (about 0.15 instead of 0.9 ms of server CPU a
  ticket).
- SQLite: the marker row of 0028 (`search_pending`); the triggers note the
  ticket ids, and just before the session commits, `_build_noted` builds their
  documents with the INSERT of the ticket triggers themselves, then their rows
  of the queue filter's walk table (app.demo_bulk `sqlite_rebuild`), and empties the table
  (the marker with it).
The documents are the same; only a search inside that transaction, before
its commit, would miss the new tickets (intake never searches).

A build that fails then fails the commit: a group written unguarded
(app.grouped_writes) is then lost whole and run again guarded, and a guarded
transaction does not defer, so the message whose document cannot be built
fails at its own statements and is quarantined, as without deferral.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from app.demo_bulk import SQLITE_FILLS, sqlite_rebuild, stored_triggers

PENDING: str = importlib.import_module("app.migrations.versions.0023_intake_batch").PENDING
_0028 = importlib.import_module("app.migrations.versions.0028_intake_deferred")

# idempotent: a savepoint's begin must not forget the tickets already noted
_DEFER = text(f"SELECT set_config('{PENDING}', '0', true) WHERE coalesce(current_setting('{PENDING}', true), '') = ''")

_SQLITE_MARK = f"INSERT OR IGNORE INTO search_pending(ticket_id) VALUES ({_0028.MARKER})"
_SQLITE_NOTED = f"t.id IN (SELECT ticket_id FROM search_pending WHERE ticket_id <> {_0028.MARKER})"
_SQLITE_OLDER = f"(SELECT ticket_id FROM search_pending WHERE fresh = 0 AND ticket_id <> {_0028.MARKER})"
_SQLITE_DOCUMENTS = ("search_fts", "search_filter")  # the document tables (keyed by ticket id)
_NOTED = "esimdesk_search_noted"  # session.info: this transaction set the SQLite marker
_BUILD = "esimdesk_search_build"  # session.info: the statements of `_sqlite_build`


def defer_new_ticket_index(session: Session) -> None:
    """From the session's next transaction on, its tickets are indexed at commit."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        event.listen(session, "after_begin", _defer)
    elif dialect == "sqlite":
        event.listen(session, "after_begin", _mark)
        event.listen(session, "before_commit", _build_noted)
        event.listen(session, "after_transaction_end", _forget)


def _guarded(session: Session) -> bool:
    writes = session.info.get("grouped_writes")
    return writes is not None and bool(writes.guarded)


def _defer(session: Session, _transaction: Any, connection: Any) -> None:
    if _guarded(session):
        return  # a group run again a message at a time: each message's failure must show at its own statements
    connection.execute(_DEFER)


def _sqlite_build(conn: Connection) -> list[str]:
    """SQLite: the statements that build the noted tickets' derived rows (the
    demo build's own rebuild, from the triggers' stored definitions) and then
    forget the noted ids."""
    # a ticket noted but not new has documents already (a message into an older ticket)
    older = [f"DELETE FROM {table} WHERE rowid IN {_SQLITE_OLDER}" for table in _SQLITE_DOCUMENTS]
    rebuild = sqlite_rebuild(stored_triggers(conn, SQLITE_FILLS), _SQLITE_NOTED)
    return [*older, *rebuild, "DELETE FROM search_pending"]


def build_left_over(engine: Engine) -> int:
    """SQLite: build the documents of tickets noted but never built, and clear
    the marker (the number of rows found noted; 0 on PostgreSQL).

    No path commits the marker (it is written in the group's own transaction),
    but a marker that outlived its transaction would switch indexing off for
    every other writer, and only a deferring intake group clears it: the
    intake command calls this first, so one run, --watch too, mends the desk."""
    if engine.dialect.name != "sqlite":
        return 0
    with engine.begin() as conn:
        left = int(conn.exec_driver_sql("SELECT count(*) FROM search_pending").scalar_one())
        if left:
            for sql in _sqlite_build(conn):
                conn.exec_driver_sql(sql)
    return left


def _mark(session: Session, transaction: Any, connection: Connection) -> None:
    if transaction.nested or _guarded(session) or session.info.get(_NOTED):
        return
    connection.exec_driver_sql(_SQLITE_MARK)
    session.info[_NOTED] = True


def _build_noted(session: Session) -> None:
    if not session.info.get(_NOTED) or session.in_nested_transaction():
        return
    session.flush()  # what the ORM still holds is written (and noted) first
    conn = session.connection()
    statements = session.info.get(_BUILD)
    if statements is None:
        statements = session.info[_BUILD] = _sqlite_build(conn)
    for sql in statements:
        conn.exec_driver_sql(sql)
    session.info[_NOTED] = False


def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # committed or rolled back: the marker went with it
        session.info[_NOTED] = False
