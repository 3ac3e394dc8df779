"""The queue table's backend: one QueueQuery against the desk, run in the
console's workers, cancellable (no Textual here: the table only asks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import OperationalError

from app.db import Desk
from app.queue_query import QueueQuery, QueueRow, count, page


class QueueSource:
    """The table's backend: one QueueQuery against the desk (runs in workers).

    `cancel()` (called when the table drops this source) interrupts a query
    still running on SQLite, so a superseded view's COUNT does not hold up
    the next view's rows; an interrupted call returns no rows / a count of 0
    that the table ignores (its generation has moved on).
    """

    def __init__(self, desk: Desk, query: QueueQuery, now: Callable[[], datetime]) -> None:
        self.desk, self.query, self.now = desk, query, now
        self.cancelled = False
        self._running: set = set()
        self._lock = threading.Lock()

    def _run(self, fn, empty):
        if self.cancelled:
            return empty
        with self.desk.reader() as s:
            raw = _sqlite_connection(s)
            with self._lock:
                self._running.add(raw)
            try:
                return fn(s)
            except OperationalError:
                if self.cancelled:
                    return empty
                raise
            finally:
                with self._lock:
                    self._running.discard(raw)

    def count(self) -> int:
        return self._run(lambda s: count(s, self.query, self.now()), 0)

    def page(self, offset: int, limit: int) -> list[QueueRow]:
        return self._run(lambda s: page(s, self.query, self.now(), offset, limit), [])

    def cancel(self) -> None:
        self.cancelled = True
        with self._lock:
            for raw in self._running:
                if raw is not None:
                    raw.interrupt()


def _sqlite_connection(session):
    """The session's sqlite3 connection (None on other engines)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return None
    return conn.connection.driver_connection
