"""The queue table's backend: one QueueQuery against the desk, run in the
console's workers, cancellable (no Textual here: the table only asks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from app.db import Desk
from app.failures import as_desk_error
from app.queue_query import COUNT_CAP, QueueQuery, QueueRow, count, page, warm

T = TypeVar("T")
# a count waits this long (seconds) before it starts, and does not start when
# the source is dropped meanwhile: while filter text is typed each character's
# count (10-350 ms of database time for text of one to five letters) would
# otherwise run beside the next character's rows and their frame
COUNT_SETTLE = 0.1
WARM_POLL = 0.02  # seconds between looks for a quiet moment to warm the next view (warm_views)


class QueueSource:
    """The table's backend: one QueueQuery against the desk (runs in workers).

    `cancel()` (called when the table drops this source) interrupts a query
    still running: on SQLite the connection is interrupted, on PostgreSQL the
    server is asked to cancel the statement. So a superseded view's or
    filter's COUNT does not hold up the next one's rows (nor keep the server
    busy); an interrupted call returns no rows / a count of 0 that the table
    ignores (its generation has moved on).

    `count()` counts up to `count_cap` + 1 tickets (a count above
    `count_cap` means "more than that"; None: counts them all), after
    `COUNT_SETTLE` seconds without a cancel.
    """

    def __init__(
        self, desk: Desk, query: QueueQuery, now: Callable[[], datetime], *, count_cap: int | None = COUNT_CAP
    ) -> None:
        self.desk, self.query, self.now = desk, query, now
        self.count_cap = count_cap
        self.cancelled = False
        self._dropped = threading.Event()  # set by cancel(): wakes a count still settling
        self._running: set[Any] = set()
        self._lock = threading.Lock()

    def _run(self, fn: Callable[[Session], T], empty: T) -> T:
        """`fn` on a reader session; a database failure (a server gone, a lock,
        a damaged file) comes out as a DeskError carrying its one line."""
        if self._stopped():
            return empty
        try:
            with self.desk.reader() as s:
                raw = _driver_connection(s)
                with self._lock:
                    self._running.add(raw)
                try:
                    if self._stopped():  # cancelled while the connection was taken
                        return empty
                    return fn(s)
                finally:
                    with self._lock:
                        self._running.discard(raw)
        except SQLAlchemyError as exc:
            if isinstance(exc, OperationalError) and self._stopped():
                return empty  # the interrupt we asked for
            raise as_desk_error(exc, self.desk.url) from None

    def _stopped(self) -> bool:
        """cancel() was called (by another thread, at any time)."""
        return self.cancelled

    def count(self) -> int:
        if self._dropped.wait(COUNT_SETTLE):
            return 0
        return self._run(lambda s: count(s, self.query, self.now(), cap=self.count_cap), 0)

    def page(self, offset: int, limit: int) -> list[QueueRow]:
        return self._run(lambda s: page(s, self.query, self.now(), offset, limit), [])

    def cancel(self) -> None:
        self.cancelled = True
        self._dropped.set()
        with self._lock:
            on_server = [raw for raw in self._running if not _interrupt(raw)]
        if on_server:
            # PostgreSQL is asked over a new connection of its own (10-26 ms), which the
            # caller (the console's event loop, as the next filter character replaces a
            # count still running) does not wait for
            threading.Thread(target=self._cancel_on_server, daemon=True).start()

    def _cancel_on_server(self) -> None:
        # under the lock: a connection still running leaves for the pool only once the
        # server has the request (so it cannot cancel the pool's next statement instead)
        with self._lock:
            for raw in self._running:
                _cancel_statement(raw)


def _driver_connection(session: Session) -> Any:
    """The session's DB-API connection (sqlite3 or psycopg)."""
    return session.connection().connection.driver_connection


def _interrupt(raw: Any) -> bool:
    """Stop the statement `raw` is running, from another thread, when that is
    immediate (sqlite3); False: it runs on a server (`_cancel_statement`)."""
    if hasattr(raw, "interrupt"):  # sqlite3
        raw.interrupt()
        return True
    return False


def _cancel_statement(raw: Any) -> None:
    """Ask the server to cancel the statement `raw` is running (psycopg 3)."""
    if hasattr(raw, "cancel_safe"):
        try:
            raw.cancel_safe(timeout=2.0)
        except Exception:  # noqa: BLE001 - a cancel that cannot reach the server leaves the query to finish
            pass


def warm_views(
    desk: Desk, queries: list[QueueQuery], now: Callable[[], datetime], go: Callable[[], bool | None]
) -> int:
    """Compile each query's first-page statements ahead of its first use
    (app.queue_query.warm), one at a time, each when `go()` says the console
    is quiet (True; polled every WARM_POLL seconds; None: stop). Only a head start: a
    failed read is left to the view's own read. Returns how many were warmed."""
    done = 0
    for q in queries:
        while (ready := go()) is False:
            time.sleep(WARM_POLL)
        if ready is None:
            break
        try:
            with desk.reader() as s:
                warm(s, q, now())
        except Exception:  # noqa: BLE001 - only a head start: the view's own read says what failed
            return done
        done += 1
    return done
