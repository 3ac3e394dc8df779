"""Writes nobody reads the result of, sent with the next statement (PostgreSQL).

In an intake group on PostgreSQL every statement was a round trip: the client
sends it, waits while the server runs it, then works out the next. A
statement whose result is never read (a history event, a refund case, a
ticket's saved deadlines: `Prepared.write`) need not be waited for. While
`queued(conn, enabled)` is in force and `enabled()` holds, such a statement
is kept in a queue on the connection; the next statement that does return
something (any other statement, or the commit) sends the queue and itself
together, in one pipeline (psycopg's pipeline mode: one round trip), and
the server runs them in the order they were written. What a later statement
reads is therefore exactly what it read before; only the error of a queued
statement surfaces at that later statement. That is why only intake's
unguarded groups queue (app.grouped_writes): there any error loses the whole
group, which runs again guarded, a message at a time, without queueing, and
the message at fault fails at its own statement as before.

SQLite: nothing is queued (there is no round trip to save).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import Session

if TYPE_CHECKING:
    from app.grouped_writes import GroupedWrites

QUEUE = "esimdesk_queued_writes"  # Connection.info: the Queue while `queued` is in force


class Queue:
    def __init__(self, enabled: Callable[[], bool]) -> None:
        self.enabled = enabled
        self.statements: list[tuple[str, Any]] = []


def queue_of(conn: Connection) -> Queue | None:
    """The connection's queue, when its writes may be queued now."""
    queue: Queue | None = conn.info.get(QUEUE)
    return queue if queue is not None and queue.enabled() else None


def send(conn: Connection, last: tuple[Any, str, Any] | None = None) -> None:
    """Send the queued statements, and `last` (cursor, sql, parameters) after
    them, in one pipeline; the queue is empty afterwards. An error (of any of
    them) is raised as SQLAlchemy raises a statement's."""
    queue: Queue | None = conn.info.get(QUEUE)
    if queue is None or not queue.statements:
        if last is not None:
            _execute(conn, *last)
        return
    statements, queue.statements = queue.statements, []
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None  # in a transaction: the pool cannot have taken it
    sql, args = statements[-1]
    try:
        with dbapi.pipeline():
            cursor = dbapi.cursor()
            for sql, args in statements:
                cursor.execute(sql, args)
            if last is not None:
                cursor, sql, args = last
                cursor.execute(sql, args)
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, sql, args, None, None)


def _execute(conn: Connection, cursor: Any, sql: str, args: Any) -> None:
    try:
        cursor.execute(sql, args)
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, sql, args, cursor, None)


def _before_statement(conn: Connection, *_args: Any) -> None:
    send(conn)  # a statement of SQLAlchemy's own: what was queued runs first


@contextmanager
def queued(conn: Connection, enabled: Callable[[], bool]) -> Iterator[None]:
    """While the block runs (PostgreSQL), `Prepared.write`s on `conn` are
    queued whenever `enabled()` holds. The caller sends the queue before each
    commit (`send`) and empties it at each rollback (`discard`)."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.info[QUEUE] = Queue(enabled)
    event.listen(conn, "before_cursor_execute", _before_statement)
    try:
        yield
    finally:
        event.remove(conn, "before_cursor_execute", _before_statement)
        conn.info.pop(QUEUE, None)


def discard(conn: Connection) -> None:
    """Forget what is queued (its transaction is being rolled back)."""
    queue: Queue | None = conn.info.get(QUEUE)
    if queue is not None:
        queue.statements = []


@contextmanager
def while_unguarded(writes: GroupedWrites) -> Iterator[None]:
    """The writes of `writes`' session queued while its groups run unguarded;
    sent before each commit, forgotten at each rollback."""
    session = writes.session
    conn = session.get_bind()
    assert isinstance(conn, Connection)  # Desk.grouped binds the session to its connection
    with queued(conn, lambda: not writes.guarded):
        if QUEUE not in conn.info:  # SQLite
            yield
            return
        event.listen(session, "before_commit", _send_at_commit)
        event.listen(session, "after_transaction_end", _discard_at_end)
        try:
            yield
        finally:
            event.remove(session, "before_commit", _send_at_commit)
            event.remove(session, "after_transaction_end", _discard_at_end)


def _send_at_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        send(session.connection())


def _discard_at_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        bind = session.get_bind()
        if isinstance(bind, Connection):
            discard(bind)
