"""Statistics for the tables a batch grows from (almost) nothing (PostgreSQL).

A PostgreSQL connection keeps a plan for each statement it runs again and
again (intake's prepared statements, and the foreign-key check each message
and history row makes on its ticket), planned with the statistics of that
moment. On a new desk they say `ticket` is empty (migration 0014 analyzed it
when it was), so the first plans read it whole, the cheapest way over no
rows, and go on doing so while the batch grows it: at 10,000 tickets each
foreign-key check took 110 us instead of a few, the ticket updates and
lookups likewise, and intake slowed as it went (server CPU 1.7-2.6 ms a
message). The queue filter's walk table (migration 0029) is updated by a
trigger at every due change: each refund's acknowledgment read it whole
(0.78 ms at 10,000 tickets, about 150 us a message) until it was analyzed too.
Autovacuum analyzes the table within about a minute, at some point of
the batch, after which the plans are made again: that is why one bench
run took half the server time of another.

`FreshStats.grown(committed)`: once a batch has committed GROWN messages, the
tables it writes are analyzed, if at its start `ticket` was estimated below
GROWN rows (a desk of any size is left alone, even one whose refund table is
still small). ANALYZE reads a sample (milliseconds at this size), and every
connection plans these tables again with their real size. At most once a
batch; nothing on SQLite, which plans each statement at prepare time from the
table as it is.

Until then, each transaction of the batch plans with `enable_seqscan` off
(SET LOCAL: the batch's own transactions only): its first 1,000 messages read
`ticket` whole some ten times a message otherwise (10,065 scans, 4.8 million
rows; server CPU over those 1.21 -> 1.13 ms a message, four alternating
pairs of runs at load 5-9).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlmodel import Session

GROWN = 1000  # messages committed before the small tables are analyzed
TABLES = ("ticket", "message", "ticket_event", "customer", "refund_case", "search_doc", "search_filter", "filter_walk")
_ESTIMATE = text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('ticket')")


class FreshStats:
    """Whether (and when) a batch analyzes the tables it writes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pending = False
        if session.get_bind().dialect.name == "postgresql":
            estimate = session.connection().execute(_ESTIMATE).scalar()
            self.pending = estimate is not None and estimate < GROWN
            session.commit()  # nothing written: the batch's first group begins afresh
            if self.pending:
                event.listen(session, "after_begin", _by_index)

    def grown(self, committed: int) -> None:
        """`committed` messages of the batch are committed (none open): analyze when due."""
        if self.pending and committed >= GROWN:
            self.pending = False
            event.remove(self.session, "after_begin", _by_index)
            self.session.execute(text(f"ANALYZE {', '.join(TABLES)}"))
            self.session.commit()


def _by_index(_session: Session, transaction: Any, connection: Any) -> None:
    """Until the tables are analyzed, the plans a transaction makes read them by index."""
    if not transaction.nested:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
