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
  the ticket ids in ranges, each chunk as soon as it is written and committed
  (`Load.written`), on the other connections of app/demo_stages.py (a
  server process each), while the generator makes the next. The plain and expression indexes, the
  unique keys and the foreign keys of the bulk tables (message's thread index
  excepted: the fill reads threads by it) are dropped and made again after the
  load from their own stored definitions (pg_get_indexdef,
  pg_get_constraintdef), several at a time on those connections,
  filter_walk's keys and index after its one fill; the GIN indexes stay
  (PG_DERIVED).
- SQLite: the triggers, and the secondary indexes of the bulk tables
  (message's kept, as on PostgreSQL), are dropped and made again from their
  own stored definitions (sqlite_master); the fill is the INSERT of each
  ticket trigger's body (its `t.id = NEW.id` made a range of ids), run over
  each chunk as soon as it is written, like PostgreSQL's.
- Both: the tallies by wall_tally.recount and wall_daily.recount (their
  triggers' one rule each).

SQLite: everything happens in the build's transaction (DDL included): a
build cut short leaves no rows, and the triggers and indexes as they were.
PostgreSQL: the build is committed in stages (one transaction ran all its
server work in one process, the build's floor); a build that fails puts the
desk back as it was, one killed leaves it half built, marked, refused by
every command and put back by the next `demo` (app/demo_stages.py).

Measured (2 CPUs shared with other work; CPU seconds are the honest
figures), 1,000,000 tickets. Before (one process): SQLite 820 s wall at load
14 -> 5, 282 s CPU; PostgreSQL 583 s at load 1-3. After: SQLite 309 s wall
at load 2-2.6, the writing process 168 s CPU (of it after the load: indexes
30 s, search fill 31, tallies 23, commit 20) beside the generator's 99 s;
PostgreSQL 363 s wall at load 1.7 -> 4.4, the server 257 s CPU (the
search fill 214 s of it: search_pairs, the word pairs of migration 0013, a
generated column, alone costs ~90 us a ticket), the client 43 + 108 s.
Memory: ~1.3 GB in all (was 5.5-7 GB). Message's and filter_walk's keys made
after their load (2026-12, A/B back to back, load 2.6-12.8): the server 284.9 ->
268.0 and 284.4 -> 265.5 s CPU; the server's one process is still the build's
floor (its work cannot leave the build's transaction: GIN indexes alone ~107 s).
Committed in stages, the server work on three connections (app/demo_stages.py;
2026-12, A/B back to back, load 3.3-4.9, the other helpers' benches beside
it): 446 -> 294 s wall, the server 268 -> 287 s CPU, the client 145 -> 151 s.
Where the server's CPU goes (100,000 tickets, backend CPU): the search fill
~215 us a ticket (its GIN inserts ~95, the document ~42 and its pairs ~20,
the rows ~40, search_filter ~22; a larger gin_pending_list_limit only moves
the GIN work to the pending list's clean-up; no ON CONFLICT: ~3 %); beside
it the COPYs (12 s of statement time to the fill's 39 s); at 1,000,000
tickets the walk's one ordered fill takes 12-24 s of the build's end.

`Rows` turns a table's rows into the driver's values past the ORM's per-row
parameter handling: each column's own bind conversion (so the stored values
are the ones an INSERT through SQLAlchemy stores), `write_values` writes
them by one executemany on SQLite or one COPY on PostgreSQL.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, LargeBinary, Table, text
from sqlalchemy.sql import bindparam
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlalchemy.types import TypeEngine
from sqlmodel.sql.sqltypes import UTCDateTime

from app import demo_stages as stages
from app import wall_daily, wall_tally

_0029 = importlib.import_module("app.migrations.versions.0029_filter_walk")

# the triggers suspended: table -> names; each one's work is redone by a fill below
PG_SUSPENDED = {
    "ticket": ("search_ticket", "filter_ticket", "wall_tally_ins", "wall_daily_ins"),
    "message": ("search_message",),
    # the queue filter's walk table (migration 0029): filled after the load, in its walk's order
    "search_doc": ("filter_walk_words",),
    "search_filter": ("filter_walk_doc",),
}
PG_FILLS = ("search_reindex", "search_filter_reindex")  # the functions those triggers call
SQLITE_SUSPENDED = (
    "search_ticket_ins",
    "search_message_ins",
    "filter_ticket_ins",
    "wall_tally_ins",
    "wall_daily_ins",
    "search_note_ticket_ins",  # (0028: what notes a deferring transaction's tickets)
    "search_note_message_ins",
)
SQLITE_FILLS = ("search_ticket_ins", "filter_ticket_ins")  # their INSERT, over a range of tickets
# their secondary indexes (and on PostgreSQL their foreign keys) are made again after the
# load: one sort (one join) each, not a random insert (a lookup) per row; at a million
# tickets the ticket table has 27 indexes. Message keeps its indexes: the fill, made
# during the load, reads each ticket's thread by them
BULK_TABLES = ("customer", "esim_order", "ticket", "ticket_event", "refund_case")
# PostgreSQL: message's too, its unique constraints (message_id's index took random
# inserts) and its foreign key (a look-up per row) with them, all but the index the
# fill reads each ticket's thread by: 2.0 -> 0.8 s of server CPU a 100,000 tickets
PG_BULK_TABLES = BULK_TABLES + ("message",)
PG_KEPT = ("ix_message_ticket_created",)
# PostgreSQL: the derived tables' foreign keys are made after their fill. Their GIN
# indexes stay: made after the fill (from the pending list, their incremental inserts
# merge in batches) they cost as much server CPU or more (100,000 tickets: 8.5-9.1 s
# against 7.0-8.0 incremental; 1,000,000: 107 s) and that time adds to the build's serial end,
# where the generator no longer runs beside it
PG_DERIVED = ("search_doc", "search_filter")
# filled last, in one statement: its keys and index are made after it (one sort each)
PG_WALK = ("filter_walk",)
# SQLite, for the build's connection only: page cache in KiB (negative), so the load's
# pages, the index sorts and the fills' reads stay in memory instead of spilling
SQLITE_CACHE = -512 * 1024
FILL_CHUNK = 5000  # ticket ids per fill statement
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


def pg_triggers(conn: Connection, enable: bool) -> None:
    verb = "ENABLE" if enable else "DISABLE"
    for table, names in PG_SUSPENDED.items():
        for name in names:
            conn.exec_driver_sql(f"ALTER TABLE {table} {verb} TRIGGER {name}")


_PG_INDEXES = """SELECT t.relname, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname IN :tables AND t.relnamespace = to_regnamespace(current_schema())::oid
AND i.indpred IS NULL AND c.relname NOT IN :kept
AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1"""
# the foreign keys (f) and the primary and unique keys asked (p, u) that no foreign key
# refers to, in the order they are made again: the keys, then the foreign keys
_PG_CONSTRAINTS = """SELECT t.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k
JOIN pg_class t ON t.oid = k.conrelid
WHERE k.contype::text = ANY(:types) AND t.relname IN :tables AND t.relnamespace = to_regnamespace(current_schema())::oid
AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = k.conindid AND k.contype <> 'f')
ORDER BY k.contype = 'f', 1, 2"""


def _pg_drop(
    conn: Connection, tables: tuple[str, ...], indexes: bool = True, keys: str = "u"
) -> list[tuple[str, str, str]]:
    """Drop the foreign keys of `tables` and, with `indexes`, their secondary
    indexes (but PG_KEPT) and the keys of the kinds in `keys` ('p' primary,
    'u' unique) that no foreign key refers to; return (table, name, the
    statement that makes it again) of each (indexes first, foreign keys
    last). Partial indexes stay: their definitions do not come back from
    pg_get_indexdef word for word (an ANY(ARRAY[...]) is cast otherwise),
    and each holds few rows."""
    names = {"tables": tables, "kept": PG_KEPT, "types": ["f", *keys] if indexes else ["f"]}
    q = text(_PG_INDEXES).bindparams(bindparam("tables", expanding=True), bindparam("kept", expanding=True))
    found = conn.execute(q, names).all() if indexes else []
    q = text(_PG_CONSTRAINTS).bindparams(bindparam("tables", expanding=True))
    constraints = conn.execute(q, names).all()
    for table, name, _ in reversed(constraints):
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _, name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [(table, name, sql) for table, name, sql in found] + [
        (table, name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {sql}') for table, name, sql in constraints
    ]


def _tallies(conn: Connection) -> None:
    """The wall's tallies, by their triggers' one rule each."""
    wall_tally.recount(conn)
    wall_daily.recount(conn)


def _pg_settings(conn: Connection) -> None:
    for name, value in PG_SETTINGS.items():
        conn.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})


def _pg_fill(conn: Connection, start: int, top: int) -> None:
    """The derived tables' rows of tickets `start` to `top`."""
    for lo in range(start, top + 1, FILL_CHUNK):
        for fn in PG_FILLS:
            conn.execute(
                text(f"SELECT {fn}(ARRAY(SELECT id FROM ticket WHERE id >= :lo AND id < :hi))"),
                {"lo": lo, "hi": min(lo + FILL_CHUNK, top + 1)},
            )


def sqlite_fill_statement(trigger_sql: str, tickets: str = "1 = 1") -> str:
    """The INSERT of a ticket trigger's body (DELETE ...; INSERT ... WHERE
    t.id = NEW.id;) over the tickets `t` matching `tickets` (SQL; default every one)."""
    body = trigger_sql[trigger_sql.index(" BEGIN ") + 7 : trigger_sql.rindex("END")]
    insert = body[body.index("INSERT INTO") :].strip()
    insert = insert[: insert.index(";")] if ";" in insert else insert  # its document (filter_walk's copy apart)
    if insert.count(_ONE_TICKET) != 1 or "NEW." in insert.replace(_ONE_TICKET, ""):
        raise ValueError(f"not a one-ticket rebuild: {insert[:80]}")
    return insert.replace(_ONE_TICKET, tickets)


def sqlite_rebuild(triggers: Mapping[str, str], tickets: str) -> list[str]:
    """SQLite: the statements that make the derived rows of the tickets `t`
    matching `tickets` (SQL) from the stored ticket triggers in `triggers`
    (`stored_triggers`): each one's document INSERT (SQLITE_FILLS), then,
    where migration 0029 has added the queue filter's copy to them, the
    tickets' rows of its walk table. The demo build's fill and intake's
    build at commit (app.mail.deferred_index) both run these."""
    out = [sqlite_fill_statement(triggers[name], tickets) for name in SQLITE_FILLS if name in triggers]
    if "filter_walk" in triggers.get(SQLITE_FILLS[0], ""):
        out.append(_0029.sqlite_fill(tickets))
    return out


def stored_triggers(conn: Connection, names: Iterable[str]) -> dict[str, str]:
    """SQLite: {trigger: its stored CREATE TRIGGER} of those of `names` the database has."""
    q = text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN :names")
    found = conn.execute(q.bindparams(bindparam("names", expanding=True)), {"names": tuple(names)})
    return {str(name): str(sql) for name, sql in found.all()}


def _sqlite_fill(conn: Connection, triggers: dict[str, str], start: int, top: int) -> None:
    """The derived tables' rows of tickets `start` to `top` (the bodies of the ticket triggers in `triggers`)."""
    for lo in range(start, top + 1, FILL_CHUNK):
        for sql in sqlite_rebuild(triggers, f"t.id >= {lo} AND t.id < {min(lo + FILL_CHUNK, top + 1)}"):
            conn.exec_driver_sql(sql)


def _sqlite_suspend(conn: Connection) -> tuple[dict[str, str], list[str]]:
    """Drop the suspended triggers and the secondary indexes of the bulk
    tables; return their definitions ({trigger: sql}, [index sql])."""
    triggers = stored_triggers(conn, SQLITE_SUSPENDED)
    q = text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN :tables")
    tables = {"tables": BULK_TABLES}
    indexes: dict[str, str] = dict(conn.execute(q.bindparams(bindparam("tables", expanding=True)), tables).all())
    for name in triggers:
        conn.exec_driver_sql(f"DROP TRIGGER {name}")
    for name in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    return triggers, list(indexes.values())


class Load:
    """A bulk load under way (`bulk_load`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn, self.filled = conn, 0
        self.fill_seconds = 0.0  # spent in `written`
        self.triggers: dict[str, str] = {}  # SQLite: the suspended triggers' definitions
        self.fillers: stages.Fillers | None = None  # PostgreSQL: the connections that fill

    def written(self, top: int) -> None:
        """Tickets up to id `top` are written, with their messages, customers and
        orders: their derived rows are made now (while the build makes the next ones)."""
        started = time.perf_counter()
        self.fill(top)
        self.fill_seconds += time.perf_counter() - started

    def fill(self, top: int | None = None) -> None:
        """The derived rows of the tickets written since the last fill, up to `top` (default: the last)."""
        if top is None:
            top = self.conn.execute(text("SELECT coalesce(max(id), 0) FROM ticket")).scalar_one()
        if self.conn.dialect.name == "sqlite":
            _sqlite_fill(self.conn, self.triggers, self.filled + 1, top)
        else:  # committed: the fillers' connections read the rows
            assert self.fillers is not None
            stages.commit(self.conn)
            _pg_settings(self.conn)
            for lo in range(self.filled + 1, top + 1, FILL_CHUNK):
                self.fillers.run(partial(_pg_fill, start=lo, top=min(lo + FILL_CHUNK - 1, top)))
        self.filled = max(self.filled, top)


@contextmanager
def bulk_load(conn: Connection, lap: Callable[[str], None] = lambda name: None) -> Iterator[Load]:
    """Write a build's rows inside this block; on leaving it the derived
    tables hold what the triggers would have made. An exception leaves them,
    the indexes and the triggers as they were (SQLite: the caller's
    transaction is rolled back; PostgreSQL, committed in stages: `pg_undo`).
    `lap(step)` is called as each step of the refill ends."""
    load = Load(conn)
    if conn.dialect.name == "sqlite":
        load.triggers, indexes = _sqlite_suspend(conn)
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size = {SQLITE_CACHE}")
        try:
            yield load
            load.fill()
            lap("search fill")
            for sql in indexes:
                conn.exec_driver_sql(sql)
            for sql in load.triggers.values():
                conn.exec_driver_sql(sql)
            lap("indexes")
        finally:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache or 0)}")
    else:
        yield from _pg_bulk_load(conn, load, lap)
        return
    _tallies(conn)
    lap("tallies")


def _pg_bulk_load(conn: Connection, load: Load, lap: Callable[[str], None]) -> Iterator[Load]:
    """`bulk_load` on PostgreSQL: committed in stages, the server work spread
    over the fillers' connections (app/demo_stages.py); a failure puts the
    desk back as it was (`pg_undo`) before it is raised."""
    _pg_settings(conn)
    pg_triggers(conn, enable=False)
    remake = _pg_drop(conn, PG_BULK_TABLES)
    derived_keys = _pg_drop(conn, PG_DERIVED, indexes=False)
    walk = _pg_drop(conn, PG_WALK, keys="pu")
    stages.begin(conn, remake + walk + derived_keys)
    _pg_settings(conn)
    load.fillers = fillers = stages.Fillers(conn.engine, _pg_settings)
    try:
        yield load
        load.fill()
        fillers.join()
        lap("search fill")
        # the fillers make the indexes and keys (several at a time) and the tallies while
        # this connection fills the walk; the walk's keys after it. This connection waits
        # for the fillers (join) holding no lock: an ALTER TABLE of theirs may wait for one
        made = [(table, sql) for table, _, sql in remake + walk if " FOREIGN KEY " not in sql]
        stages.run_each(fillers, [sql for table, sql in made if table not in PG_WALK])
        fillers.run(_tallies)
        conn.exec_driver_sql(_0029.PG_FILL + _0029.PG_FILL_ORDER)  # (the desk had no ticket: nor a walk row)
        stages.commit(conn)
        stages.run_each(fillers, [sql for table, sql in made if table in PG_WALK])
        fillers.join()
        _pg_settings(conn)
        lap("indexes")
        for _, _, sql in remake + walk + derived_keys:  # the foreign keys: each locks the table it refers to
            if " FOREIGN KEY " in sql:
                conn.exec_driver_sql(sql)
        pg_triggers(conn, enable=True)
        fillers.close()
        conn.exec_driver_sql(f"DROP TABLE {stages.MARKER}")  # committed with the build's last rows
        lap("foreign keys")
    except BaseException:
        fillers.close(stop=True)
        conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
        pg_undo(conn)
        raise


def pg_undo(conn: Connection) -> None:
    """Put a desk whose demo build did not finish back as it was before it (app/demo_stages.py)."""
    stages.undo(conn, lambda c: pg_triggers(c, enable=True))


def sqlite_datetime(v: datetime) -> str:
    """What SQLAlchemy binds for an aware datetime on SQLite (the model's
    conversion to UTC, then SQLite's DATETIME storage format), at a fraction
    of the cost: at a million tickets the build binds 17 million of them."""
    if v.tzinfo is not UTC:
        v = v.astimezone(UTC)
    return v.isoformat(" ", "microseconds")[:26]  # without its "+00:00"


def _bind(dialect: Dialect, type_: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    if dialect.name == "sqlite" and isinstance(type_, UTCDateTime):
        return sqlite_datetime
    if isinstance(type_, LargeBinary):  # both drivers take bytes as they are (a memoryview does not pickle)
        return None
    return type_.dialect_impl(dialect).bind_processor(dialect)


class Rows:
    """A table's rows (dicts with the same keys) as the driver takes them: each
    column's own bind conversion (so the stored values are the ones an INSERT
    through SQLAlchemy stores), the columns' scalar defaults filling what a row
    leaves out. Made once per table; `values(row)` per row, or `raw(row)` in
    one process (the generator's) and `convert` in the writing one."""

    def __init__(self, dialect: Dialect, table: Table, keys: list[str]) -> None:
        defaults = []
        for c in table.columns:
            if c.name not in keys and c.default is not None:
                if not isinstance(c.default, ScalarElementColumnDefault):
                    raise ValueError(f"{table.name}.{c.name}: only scalar defaults are filled in")
                defaults.append((c.name, c.default.arg))
        self.table, self.names = table.name, keys + [n for n, _ in defaults]
        self.procs = [(i, p) for i, n in enumerate(self.names) if (p := _bind(dialect, table.c[n].type))]
        self.fixed = tuple(v for _, v in defaults)
        self._get = itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)

    def raw(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        """The row's values in `names` order, not yet converted."""
        return self._get(row) + self.fixed

    def convert(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        """`raw` values as the driver takes them."""
        if not self.procs:
            return raw
        out = list(raw)
        for i, p in self.procs:
            if (v := out[i]) is not None:  # every processor leaves None as None
                out[i] = p(v)
        return tuple(out)

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return self.convert(self.raw(row))


def write_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` in the
    connection's transaction, as an INSERT through SQLAlchemy would."""
    if rows:
        prepared = Rows(conn.dialect, table, list(rows[0]))
        write_values(conn, prepared.table, prepared.names, map(prepared.values, rows))


def write_values(conn: Connection, table: str, names: list[str], values: Iterable[Sequence[Any]]) -> None:
    """INSERT rows of driver values (`Rows`): one executemany on SQLite, one COPY on PostgreSQL."""
    columns = ", ".join(names)
    raw: Any = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        if conn.dialect.name == "sqlite":
            marks = ", ".join("?" * len(names))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)
        else:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            if "id" in names:
                # rows written with their ids: the id sequence moves past them, so the
                # desk's next row (a new ticket, customer, staff member) gets a free id
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
    finally:
        cursor.close()
