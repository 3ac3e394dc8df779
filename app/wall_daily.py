"""The wall's 30-day figures kept as they change (issue 21): per UTC hour,
how many tickets have each fact (`facts()`, the one statement of what each
figure counts), so the compliance table and the trend lines read a few
thousand kept rows instead of every open ticket.

A fact is a rule over one ticket row: the instant whose UTC hour keys it
and the condition under which the row has it. None depends on "now":

- `received`, `closed`: the ticket's received_at / closed_at;
- per judged clock (app.clocks.judged_clocks; a complaint's resolution split
  by whether its deadline was extended), at the clock's stop: `met` (stopped
  by its due) or `late` (stopped after it); at its due: `late_due` (the same
  late clocks, for the breaches per day) and `over` (still running, with no
  pause before its due: app.clocks.overdue_sql at the end of time, i.e. it
  is breached once its due has passed).

The snapshot (app.dashboard_queries) sums the hours of each local day; the
remainder that depends on "now" (what was received, closed or fell overdue
between the start of the current hour and now) is a live count on index
ranges over that hour (`index_ddl`). Stop instants are never after now (a
stop is recorded when it happens), so the stops of the current hour are read
from the kept rows.

Database triggers (made by migration 0018 from `trigger_ddl`) apply each
ticket change to the table `wall_daily` in the transaction of the change:
an update takes the old row's facts off and adds the new row's in one
statement, netted per (hour, figure) and in key order (on PostgreSQL the
rows it changes are locked in that order until commit). `recount` rebuilds
the table from the tickets; `recounted` is the same figures without writing,
the tests' oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import and_, literal_column, not_, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, visitors
from sqlalchemy.sql.expression import ColumnClause
from sqlmodel import Session, col

from app import clocks
from app.wall_ranges import literal as literal_sql
from app.wall_tally import drop_triggers, pg_triggers
from models import Ticket, table_of
from models.enums import TicketStatus

RECEIVED, CLOSED = "received", "closed"
MET, LATE, LATE_DUE, OVER = "met", "late", "late_due", "over"
OUTCOMES = (MET, LATE, LATE_DUE, OVER)
EXTENDED_KEY = "resolution_extended"  # the resolution clocks whose deadline was extended
_T = table_of(Ticket)
# a running clock is overdue at this instant unless a pause froze it before its due
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Fact:
    name: str  # "received", "closed" or "<compliance key>:<outcome>"
    at: ColumnElement[Any]  # the instant whose hour keys it
    when: ColumnElement[bool]


@dataclass(frozen=True)
class Judged:
    """A compliance row's clocks: a judged clock, with the extension split for the resolution."""

    key: str  # the compliance row's key
    clock: clocks.JudgedClock
    split: ColumnElement[bool] | None = None  # the resolution: extended or not

    def clock_cond(self) -> ColumnElement[bool]:
        """The ticket has the clock: its kind, the clock's own condition, a deadline."""
        due: ColumnElement[Any] = self.clock.due  # type: ignore[assignment]
        where = [cast("ColumnElement[bool]", self.clock.where)] if self.clock.where is not None else []
        return and_(col(Ticket.kind) == self.clock.kind, *where, due.is_not(None))

    def cond(self) -> ColumnElement[bool]:
        return self.clock_cond() if self.split is None else and_(self.clock_cond(), self.split)

    def running(self) -> ColumnElement[bool]:
        """The clock has not stopped on an open ticket (the `over` index's condition)."""
        stopped: ColumnElement[Any] = self.clock.stopped  # type: ignore[assignment]
        return and_(self.clock_cond(), stopped.is_(None), col(Ticket.status) != TicketStatus.CLOSED.value)

    def unfrozen(self) -> ColumnElement[bool]:
        """No pause froze it before its due: overdue once the due has passed."""
        due = cast("ColumnElement[datetime]", self.clock.due)
        return clocks.overdue_sql(_END_OF_TIME, due, cast("ColumnElement[datetime]", col(Ticket.paused_since)))

    def over(self) -> list[ColumnElement[bool]]:
        """The `over` fact's condition, less the running test's index text."""
        return [self.unfrozen(), *([self.split] if self.split is not None else [])]


def extended() -> ColumnElement[bool]:
    """A ticket whose resolution deadline was extended (its own compliance row)."""
    return col(Ticket.extensions) > 0


def judged() -> list[Judged]:
    out = []
    for jc in clocks.judged_clocks():
        if jc.key == "resolution":
            out += [Judged(jc.key, jc, not_(extended())), Judged(EXTENDED_KEY, jc, extended())]
        else:
            out.append(Judged(jc.key, jc))
    return out


def facts() -> list[Fact]:
    """Every fact the table counts (see the module's docstring)."""
    out = [
        Fact(RECEIVED, _T.c.received_at, _T.c.received_at.is_not(None)),
        Fact(CLOSED, _T.c.closed_at, _T.c.closed_at.is_not(None)),
    ]
    for j in judged():
        due: ColumnElement[Any] = j.clock.due  # type: ignore[assignment]
        stop: ColumnElement[Any] = j.clock.stopped  # type: ignore[assignment]
        stopped = and_(j.cond(), stop.is_not(None))
        out += [
            Fact(f"{j.key}:{MET}", stop, and_(stopped, stop <= due)),
            Fact(f"{j.key}:{LATE}", stop, and_(stopped, stop > due)),
            Fact(f"{j.key}:{LATE_DUE}", due, and_(stopped, stop > due)),
            Fact(f"{j.key}:{OVER}", due, and_(j.running(), *j.over())),
        ]
    return out


def _columns() -> list[str]:
    names = set()
    for f in facts():
        for expr in (f.at, f.when):
            names |= {c.name for c in visitors.iterate(expr) if isinstance(c, ColumnClause)}
    return sorted(names)


READS = tuple(_columns())  # the columns the facts read (an update of none of them changes none)


# -- SQL text -----------------------------------------------------------------------
def _sql(expr: ColumnElement[Any], dialect: str, row: str) -> str:
    return literal_sql(expr, dialect).replace("ticket.", f"{row}.")


def hour_sql(instant: str, dialect: str) -> str:
    """The UTC hour (since the epoch) of an instant, as SQL (SQLite: of the
    stored text's whole seconds, since its date functions round to the
    millisecond: 21:59:59.999999 is still the hour 21)."""
    if dialect == "sqlite":
        return f"(CAST(strftime('%s', substr({instant}, 1, 19)) AS INTEGER) / 3600)"
    return f"CAST(floor(extract(epoch FROM {instant}) / 3600) AS INTEGER)"


def hour_of(at: datetime) -> int:
    """`hour_sql` in Python (an aware instant)."""
    return int(at.timestamp()) // 3600


def _facts_of(dialect: str, row: str, sign: str | None) -> str:
    """SELECT (h, f[, d]) per fact the row has; `row` NEW/OLD, or ticket (a scan)."""
    parts = []
    for f in facts():
        d = f", {sign} AS d" if sign else ""
        src = " FROM ticket" if row == "ticket" else ""
        at, when = _sql(f.at, dialect, row), _sql(f.when, dialect, row)
        parts.append(f"SELECT {hour_sql(at, dialect)} AS h, '{f.name}' AS f{d}{src} WHERE {when}")
    return " UNION ALL ".join(parts)


def _apply(dialect: str, *rows: tuple[str, str]) -> str:
    """One statement: the facts of OLD off, of NEW on, netted, in key order."""
    union = " UNION ALL ".join(_facts_of(dialect, row, sign) for row, sign in rows)
    return (
        f"INSERT INTO wall_daily (hour, figure, n) SELECT h, f, sum(d) FROM ({union}) AS x WHERE true "
        "GROUP BY h, f HAVING sum(d) <> 0 ORDER BY h, f "
        "ON CONFLICT (hour, figure) DO UPDATE SET n = wall_daily.n + excluded.n;"
    )


def _recount_sql(dialect: str) -> str:
    return f"SELECT h, f, count(*) AS n FROM ({_facts_of(dialect, 'ticket', None)}) AS x GROUP BY h, f"


def recounted(session: Session) -> dict[tuple[int, str], int]:
    """{(hour, figure): n} from a full count of the tickets."""
    rows = session.execute(text(_recount_sql(session.get_bind().dialect.name)))
    return {(int(h), str(f)): int(n) for h, f, n in rows}


def stored(session: Session) -> dict[tuple[int, str], int]:
    """The table as kept (non-zero rows)."""
    rows = session.execute(text("SELECT hour, figure, n FROM wall_daily WHERE n <> 0"))
    return {(int(h), str(f)): int(n) for h, f, n in rows}


def recount(conn: Connection) -> None:
    """Rebuild the table from the tickets (in the connection's transaction)."""
    conn.execute(text("DELETE FROM wall_daily"))
    sql = _recount_sql(conn.dialect.name)
    conn.execute(text(f"INSERT INTO wall_daily (hour, figure, n) {sql}"))


TRIGGERS = ("wall_daily_ins", "wall_daily_upd", "wall_daily_del")


def _changed(dialect: str) -> str:
    op = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return " OR ".join(f"OLD.{c} {op} NEW.{c}" for c in READS)


def trigger_ddl(dialect: str) -> list[str]:
    """The statements that make the table's triggers on `dialect`."""
    cols = ", ".join(READS)
    new, old, both = (("NEW", "1"),), (("OLD", "-1"),), (("OLD", "-1"), ("NEW", "1"))
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER wall_daily_ins AFTER INSERT ON ticket BEGIN {_apply(dialect, *new)} END",
            f"CREATE TRIGGER wall_daily_upd AFTER UPDATE OF {cols} ON ticket WHEN {_changed(dialect)} "
            f"BEGIN {_apply(dialect, *both)} END",
            f"CREATE TRIGGER wall_daily_del AFTER DELETE ON ticket BEGIN {_apply(dialect, *old)} END",
        ]
    function = f"""CREATE OR REPLACE FUNCTION wall_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_apply(dialect, *new)}
  ELSIF TG_OP = 'DELETE' THEN
    {_apply(dialect, *old)}
  ELSE
    {_apply(dialect, *both)}
  END IF;
  RETURN NULL;
END $$"""
    return [function, *pg_triggers("wall_daily", cols, _changed(dialect))]


def drop_ddl(dialect: str) -> list[str]:
    return drop_triggers("wall_daily", dialect)


# -- the live part's index ranges ----------------------------------------------------------
def index_name(j: Judged) -> str:
    return f"ix_ticket_wall_over_{j.clock.key}"


def running_pred(j: Judged, dialect: str) -> ColumnElement[bool]:
    """The judged clock runs (its index's condition, in the index's own text)."""
    return literal_column(f"({literal_sql(j.running(), dialect)})")


def index_ddl(dialect: str) -> list[str]:
    """One partial index per judged clock over its running clocks (the current hour's `over`)."""
    out, seen = [], set()
    for j in judged():
        if j.clock.key in seen:
            continue
        seen.add(j.clock.key)
        pred = literal_sql(running_pred(j, dialect), dialect, False)
        due = literal_sql(j.clock.due, dialect, False)  # type: ignore[arg-type]
        out.append(f"CREATE INDEX {index_name(j)} ON ticket ({due}, paused_since, extensions) WHERE {pred}")
    return out


INDEXES = tuple(f"ix_ticket_wall_over_{jc.key}" for jc in clocks.judged_clocks())
