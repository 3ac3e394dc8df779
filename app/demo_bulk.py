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

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, text
from sqlalchemy.sql import bindparam
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlalchemy.types import TypeEngine
from sqlmodel.sql.sqltypes import UTCDateTime

from app import wall_daily, wall_tally

# the triggers suspended: table -> names; each one's work is redone by a fill below
PG_SUSPENDED = {
    "ticket": ("search_ticket", "filter_ticket", "wall_tally_ins", "wall_daily_ins"),
    "message": ("search_message",),
}
PG_FILLS = ("search_reindex", "search_filter_reindex")  # the functions those triggers call
SQLITE_SUSPENDED = ("search_ticket_ins", "search_message_ins", "filter_ticket_ins", "wall_tally_ins", "wall_daily_ins")
SQLITE_FILLS = ("search_ticket_ins", "filter_ticket_ins")  # their INSERT, over every ticket
# their secondary indexes (and on PostgreSQL their foreign keys) are made again after the
# load: one sort (one join) each, not a random insert (a lookup) per row; at a million
# tickets the ticket table has 27 indexes
BULK_TABLES = ("customer", "esim_order", "ticket", "ticket_event", "message", "refund_case")
# PostgreSQL: the derived tables' foreign keys are made after their fill (their GIN
# indexes stay: made after the fill they took as long again as the fill itself)
PG_DERIVED = ("search_doc", "search_filter")
FILL_CHUNK = 5000  # ticket ids per fill statement (PostgreSQL)
# PostgreSQL, for the build's transaction only: the index builds sort in memory, the
# commit does not wait for the WAL flush (a crash loses the build, as a rollback would)
PG_SETTINGS = {"maintenance_work_mem": "256MB", "synchronous_commit": "off"}
_ONE_TICKET = "t.id = NEW.id"


class Laps(dict[str, float]):
    """Seconds taken by each named step of a build: `lap(name)` ends a step."""

    def __init__(self) -> None:
        super().__init__()
        self._last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self[name] = self.get(name, 0.0) + now - self._last
        self._last = now


def _pg_triggers(conn: Connection, enable: bool) -> None:
    verb = "ENABLE" if enable else "DISABLE"
    for table, names in PG_SUSPENDED.items():
        for name in names:
            conn.exec_driver_sql(f"ALTER TABLE {table} {verb} TRIGGER {name}")


_PG_INDEXES = """SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname IN :tables AND t.relnamespace = to_regnamespace(current_schema())::oid
AND i.indpred IS NULL AND i.indexprs IS NULL
AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1"""
_PG_FOREIGN_KEYS = """SELECT t.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k
JOIN pg_class t ON t.oid = k.conrelid
WHERE k.contype = 'f' AND t.relname IN :tables AND t.relnamespace = to_regnamespace(current_schema())::oid
ORDER BY 1, 2"""


def _pg_drop(conn: Connection, tables: tuple[str, ...], indexes: bool = True) -> list[str]:
    """Drop the secondary indexes and foreign keys of `tables`; return the
    statements that make them again (indexes first). Partial and
    expression indexes stay: their definitions do not come back from
    pg_get_indexdef word for word (an ANY(ARRAY[...]) is cast otherwise), and
    a partial index holds few rows."""
    names = {"tables": tables}
    q = text(_PG_INDEXES).bindparams(bindparam("tables", expanding=True))
    found = conn.execute(q, names).all() if indexes else []
    q = text(_PG_FOREIGN_KEYS).bindparams(bindparam("tables", expanding=True))
    keys = conn.execute(q, names).all()
    for table, name, _ in keys:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _, sql in found] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {sql}' for table, name, sql in keys
    ]


def _pg_settings(conn: Connection) -> None:
    for name, value in PG_SETTINGS.items():
        conn.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})


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
def bulk_load(conn: Connection, lap: Callable[[str], None] = lambda name: None) -> Iterator[None]:
    """Write a build's rows inside this block; on leaving it the derived
    tables hold what the triggers would have made. An exception leaves them,
    the indexes and the triggers untouched (the caller's transaction is rolled
    back). `lap(step)` is called as each step of the refill ends."""
    if conn.dialect.name == "sqlite":
        stored, indexes = _sqlite_suspend(conn)
        yield
        for sql in indexes:
            conn.exec_driver_sql(sql)
        lap("indexes")
        for name in SQLITE_FILLS:
            if name in stored:
                conn.exec_driver_sql(sqlite_fill_statement(stored[name]))
        for sql in stored.values():
            conn.exec_driver_sql(sql)
        lap("search fill")
    else:
        _pg_settings(conn)
        _pg_triggers(conn, enable=False)
        remake = _pg_drop(conn, BULK_TABLES)
        derived_keys = _pg_drop(conn, PG_DERIVED, indexes=False)
        yield
        for sql in remake:
            conn.exec_driver_sql(sql)
        lap("indexes")
        _pg_fill(conn)
        lap("search fill")
        for sql in derived_keys:
            conn.exec_driver_sql(sql)
        _pg_triggers(conn, enable=True)
        lap("foreign keys")
    wall_tally.recount(conn)
    wall_daily.recount(conn)
    lap("tallies")


def sqlite_datetime(v: datetime | None) -> str | None:
    """What SQLAlchemy binds for an aware datetime on SQLite (the model's
    conversion to UTC, then SQLite's DATETIME storage format), at a fraction
    of the cost: at a million tickets the build binds 30 million of them."""
    return None if v is None else v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _bind(conn: Connection, type_: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    if conn.dialect.name == "sqlite" and isinstance(type_, UTCDateTime):
        return sqlite_datetime
    return type_.dialect_impl(conn.dialect).bind_processor(conn.dialect)


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
    procs = [(i, p) for i, n in enumerate(names) if (p := _bind(conn, table.c[n].type))]
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
        if "id" in keys and conn.dialect.name != "sqlite":
            # rows written with their ids: the id sequence moves past them, so the
            # desk's next row (a new ticket, customer, staff member) gets a free id
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), max(id)) FROM {table.name}")
    finally:
        cursor.close()
