"""A demo build's bulk load: the rows written without the per-row work of
the triggers that keep the derived tables, with the same result.

The search index (migration 0006), the filter's trigram documents (0015)
and the wall's tally (0014, app/wall_tally.py) are kept by row triggers.
Fired once per row of a million-ticket build they cost more than the build
itself (every message re-read its ticket's whole thread into the document;
on SQLite the ticket's triggers alone took half the build's CPU, ten times
the set-based fill below).

`bulk_load` suspends the insert triggers of ticket and message, lets the
build write, then fills the derived tables set-based by the triggers' own
rules and restores the triggers:
- PostgreSQL: ALTER TABLE ... DISABLE / ENABLE TRIGGER; the fill calls the
  functions the triggers call (search_reindex, search_filter_reindex) over
  the ticket ids in ranges.
- SQLite: the triggers, and the secondary indexes of ticket, ticket_event
  and message, are dropped and made again from their own stored
  definitions (sqlite_master), the indexes before the fill; the fill is the INSERT of each ticket
  trigger's body over every ticket (its `t.id = NEW.id` made `1 = 1`).
- Both: the tally by wall_tally.recount (its triggers' one rule, COUNTS).

Everything happens in the build's transaction (DDL included, on both
engines): a build cut short leaves no rows, and the triggers as they were.

Measured (2 CPUs shared): 100,000 tickets, SQLite 22.7 s wall / 22.3 s CPU
at load 1.1, PostgreSQL 43 s wall at load 1.3 (before: about 530 s under
load). 1,000,000 on SQLite: 282 s of CPU (820 s wall at load 14 -> 5):
generation ~118, the orders' import 44, row writes 69, the search and filter
fills 32, the indexes 18, commit 8. On PostgreSQL the fill is the largest
part (19.6 of the 43 s at 100,000).

`write_rows` writes a table's rows past the ORM's per-row parameter
handling: each column's own bind conversion (so the stored values are the
ones an INSERT through SQLAlchemy stores), then one executemany on SQLite or
one COPY on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, text
from sqlalchemy.sql import bindparam
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from app import wall_tally

# the triggers suspended: table -> names; each one's work is redone by a fill below
PG_SUSPENDED = {"ticket": ("search_ticket", "filter_ticket", "wall_tally_ins"), "message": ("search_message",)}
PG_FILLS = ("search_reindex", "search_filter_reindex")  # the functions those triggers call
SQLITE_SUSPENDED = ("search_ticket_ins", "search_message_ins", "filter_ticket_ins", "wall_tally_ins")
SQLITE_FILLS = ("search_ticket_ins", "filter_ticket_ins")  # their INSERT, over every ticket
# SQLite: their secondary indexes are made again after the load (one sort each, not a
# random insert per row: at a million tickets the ticket table has 20 of them)
BULK_TABLES = ("ticket", "ticket_event", "message")
FILL_CHUNK = 5000  # ticket ids per fill statement (PostgreSQL)
_ONE_TICKET = "t.id = NEW.id"


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


def sqlite_fill_statement(trigger_sql: str) -> str:
    """The INSERT of a ticket trigger's body (DELETE ...; INSERT ... WHERE
    t.id = NEW.id;) over every ticket."""
    body = trigger_sql[trigger_sql.index(" BEGIN ") + 7 : trigger_sql.rindex("END")]
    insert = body[body.index("INSERT INTO") :].strip().rstrip(";")
    if insert.count(_ONE_TICKET) != 1 or "NEW." in insert.replace(_ONE_TICKET, ""):
        raise ValueError(f"not a one-ticket rebuild: {insert[:80]}")
    return insert.replace(_ONE_TICKET, "1 = 1")


def _sqlite_suspend(conn: Connection) -> tuple[dict[str, str], list[str]]:
    """Drop the suspended triggers and the secondary indexes of the bulk
    tables; return their definitions ({trigger: sql}, [index sql])."""
    q = text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN :names")
    names = {"names": SQLITE_SUSPENDED}
    triggers: dict[str, str] = dict(conn.execute(q.bindparams(bindparam("names", expanding=True)), names).all())
    q = text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN :tables")
    tables = {"tables": BULK_TABLES}
    indexes: dict[str, str] = dict(conn.execute(q.bindparams(bindparam("tables", expanding=True)), tables).all())
    for name in triggers:
        conn.exec_driver_sql(f"DROP TRIGGER {name}")
    for name in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    return triggers, list(indexes.values())


@contextmanager
def bulk_load(conn: Connection) -> Iterator[None]:
    """Write a build's ticket and message rows inside this block; on leaving
    it the derived tables hold what the triggers would have made. An
    exception leaves them and the triggers untouched (the caller's
    transaction is rolled back)."""
    if conn.dialect.name == "sqlite":
        stored, indexes = _sqlite_suspend(conn)
        yield
        for sql in indexes:
            conn.exec_driver_sql(sql)
        for name in SQLITE_FILLS:
            if name in stored:
                conn.exec_driver_sql(sqlite_fill_statement(stored[name]))
        for sql in stored.values():
            conn.exec_driver_sql(sql)
    else:
        _pg_triggers(conn, enable=False)
        yield
        _pg_fill(conn)
        _pg_triggers(conn, enable=True)
    wall_tally.recount(conn)


def write_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` in the
    connection's transaction: the columns' scalar defaults fill what a row
    leaves out, as an INSERT through SQLAlchemy would."""
    if not rows:
        return
    keys = list(rows[0])
    defaults = []
    for c in table.columns:
        if c.name not in keys and c.default is not None:
            if not isinstance(c.default, ScalarElementColumnDefault):
                raise ValueError(f"{table.name}.{c.name}: only scalar defaults are filled in")
            defaults.append((c.name, c.default.arg))
    names = keys + [n for n, _ in defaults]
    procs = [
        (i, p)
        for i, n in enumerate(names)
        if (p := table.c[n].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
    ]
    fixed = tuple(v for _, v in defaults)

    def values(row: Mapping[str, Any]) -> list[Any]:
        out = [row[k] for k in keys]
        out.extend(fixed)
        for i, p in procs:
            out[i] = p(out[i])
        return out

    columns = ", ".join(names)
    raw: Any = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        if conn.dialect.name == "sqlite":
            marks = ", ".join("?" * len(names))
            cursor.executemany(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", map(values, rows))
        else:
            with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
    finally:
        cursor.close()
