"""A demo build's bulk load: the rows written without the per-row work of
the triggers that keep the derived tables, with the same result.

The search index (migration 0006), the filter's trigram documents (0015)
and the wall's tally (0014, app/wall_tally.py) are kept by row triggers.
Fired once per row of a million-ticket build they cost more than the build
itself: every message re-read its ticket's whole thread into the document.

- PostgreSQL: `bulk_load` disables those triggers (ALTER TABLE ... DISABLE
  TRIGGER, transactional), lets the build write, then fills the derived
  tables set-based by the very functions the triggers call
  (search_reindex, search_filter_reindex over the ticket ids in ranges;
  wall_tally.recount) and enables the triggers again.
- SQLite: foreign keys are checked at commit (PRAGMA defer_foreign_keys,
  reset by the commit) so the build writes each ticket's messages before the
  ticket (`write_order`): a message's trigger finds no document to redo and
  the ticket's own insert trigger builds its documents once, with its
  messages.

Everything happens in the build's transaction: a build cut short leaves no
rows, and the triggers as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from app import wall_tally

# the triggers suspended on PostgreSQL: table -> names (each fill below redoes their work)
PG_SUSPENDED = {"ticket": ("search_ticket", "filter_ticket", "wall_tally_ins"), "message": ("search_message",)}
# the functions the suspended triggers call, applied afterwards to every ticket
PG_FILLS = ("search_reindex", "search_filter_reindex")
FILL_CHUNK = 5000  # ticket ids per fill statement

# the order in which a build writes its rows on each engine
_TICKETS_FIRST = ("ticket", "ticket_event", "message", "refund_case", "quarantine")
_MESSAGES_FIRST = ("message", "ticket", "ticket_event", "refund_case", "quarantine")


def write_order(dialect: str) -> tuple[str, ...]:
    """The order of the build's ticket-bound tables: on SQLite the messages
    come first (their tickets' documents are then built once)."""
    return _MESSAGES_FIRST if dialect == "sqlite" else _TICKETS_FIRST


def _pg_triggers(conn: Connection, enable: bool) -> None:
    verb = "ENABLE" if enable else "DISABLE"
    for table, names in PG_SUSPENDED.items():
        for name in names:
            conn.exec_driver_sql(f"ALTER TABLE {table} {verb} TRIGGER {name}")


def _pg_fill(conn: Connection) -> None:
    top = conn.execute(text("SELECT coalesce(max(id), 0) FROM ticket")).scalar_one()
    for lo in range(0, top + 1, FILL_CHUNK):
        for fn in PG_FILLS:
            conn.execute(
                text(f"SELECT {fn}(ARRAY(SELECT id FROM ticket WHERE id >= :lo AND id < :hi))"),
                {"lo": lo, "hi": lo + FILL_CHUNK},
            )
    wall_tally.recount(conn)


@contextmanager
def bulk_load(conn: Connection) -> Iterator[None]:
    """Write a build's rows inside this block (rows in `write_order`); on
    leaving it the derived tables hold what the triggers would have made.
    An exception leaves the derived tables and the triggers untouched (the
    caller's transaction is rolled back)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        yield
        return
    _pg_triggers(conn, enable=False)
    yield
    _pg_fill(conn)
    _pg_triggers(conn, enable=True)
