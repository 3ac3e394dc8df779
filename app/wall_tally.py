"""The wall's time-independent counts, kept as they change: per assignee, the
open tickets, complaints, escalations without a senior, refunds to decide,
refunds processing and extended complaints (`COUNTS`, the one statement of
what each tile counts).

Database triggers (made by migration 0014 from `trigger_ddl`) apply each
ticket change to the table `wall_tally` in the transaction of the change:
the ORM's flushes, the intake's prepared inserts, bulk updates and deletes
alike. An update takes the old row's counts off and adds the new row's; one
that touches none of the columns the counts read does nothing. On
PostgreSQL a change locks its assignee's row until commit (the counts are
never lost to a concurrent writer) and the two rows of a reassignment are
always taken in key order.

`recount` rebuilds the table from the tickets (the migration's fill);
`recounted` is the same figures without writing, the tests' oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, case, column, delete, func, insert, literal, literal_column, select, table, true
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select, TableClause
from sqlmodel import Session

from app.wall_ranges import literal as literal_sql
from models import Ticket, WallTally, table_of
from models.enums import TicketKind, TicketStatus

_K = TicketKind
# the columns the counts read (an update of none of them changes no count)
READS = ("status", "kind", "assignee_id", "reviewer_id", "decided_at", "extensions")
_ROW = table("ticket", *(column(c) for c in READS))


def _open(t: TableClause) -> ColumnElement[bool]:
    return t.c.status != TicketStatus.CLOSED.value


COUNTS: dict[str, Callable[[TableClause], ColumnElement[bool]]] = {
    "open": lambda t: true(),
    "complaints": lambda t: t.c.kind == _K.COMPLAINT.value,
    "escalations_waiting": lambda t: and_(t.c.kind == _K.ESCALATION.value, t.c.reviewer_id.is_(None)),
    "refunds_to_decide": lambda t: and_(t.c.kind == _K.REFUND.value, t.c.decided_at.is_(None)),
    "refunds_processing": lambda t: and_(t.c.kind == _K.REFUND.value, t.c.status == TicketStatus.PROCESSING.value),
    "extended": lambda t: and_(t.c.kind == _K.COMPLAINT.value, t.c.extensions > 0),
}


def assignee_key(t: TableClause) -> ColumnElement[Any]:
    """The tally's key of a ticket row: its assignee's id, 0 for none."""
    return func.coalesce(t.c.assignee_id, literal_column("0"))


def _one(t: TableClause, name: str) -> ColumnElement[Any]:
    cond = COUNTS[name](t)
    return literal(1) if name == "open" else case((cond, 1), else_=0)


def _recount_select() -> Select[Any]:
    t = table_of(Ticket)
    sums = [func.sum(_one(t, n)).label(n) for n in COUNTS]
    return select(assignee_key(t).label("assignee"), *sums).where(_open(t)).group_by(assignee_key(t))


def recounted(session: Session) -> dict[int, tuple[int, ...]]:
    """{assignee (0: none): counts in COUNTS order} from a full count of the open tickets."""
    return {int(a): tuple(int(v) for v in rest) for a, *rest in session.execute(_recount_select())}


def stored(session: Session) -> dict[int, tuple[int, ...]]:
    """The tally as kept (assignees with open tickets)."""
    t = table_of(WallTally)
    rows = session.execute(select(t.c.assignee, *(t.c[n] for n in COUNTS)).where(t.c.open != 0))
    return {int(a): tuple(int(v) for v in rest) for a, *rest in rows}


def recount(conn: Connection | Session) -> None:
    """Rebuild the tally from the tickets (a connection or session, in its transaction)."""
    t = table_of(WallTally)
    conn.execute(delete(t))
    conn.execute(insert(t).from_select(["assignee", *COUNTS], _recount_select()))


# -- the triggers -------------------------------------------------------------------
def _sql(expr: ColumnElement[Any], dialect: str, row: str) -> str:
    """`expr` over the ticket row `row` (NEW or OLD) as trigger SQL."""
    return literal_sql(expr, dialect).replace("ticket.", f"{row}.")


def _parts(dialect: str, row: str) -> tuple[str, str, list[str]]:
    """(open?, key, [0/1 per count]) of row NEW or OLD."""
    return (
        _sql(_open(_ROW), dialect, row),
        _sql(assignee_key(_ROW), dialect, row),
        [_sql(_one(_ROW, n), dialect, row) for n in COUNTS],
    )


def _add(dialect: str, row: str) -> str:
    is_open, key, ones = _parts(dialect, row)
    names = ", ".join(COUNTS)
    sets = ", ".join(f"{n} = wall_tally.{n} + excluded.{n}" for n in COUNTS)
    return (
        f"INSERT INTO wall_tally (assignee, {names}) SELECT {key}, {', '.join(ones)} WHERE {is_open} "
        f"ON CONFLICT (assignee) DO UPDATE SET {sets};"
    )


def _take(dialect: str, row: str) -> str:
    is_open, key, ones = _parts(dialect, row)
    sets = ", ".join(f"{n} = {n} - {one}" for n, one in zip(COUNTS, ones, strict=True))
    return f"UPDATE wall_tally SET {sets} WHERE assignee = {key} AND {is_open};"


def _changed(dialect: str) -> str:
    (o_open, o_key, o_ones), (n_open, n_key, n_ones) = _parts(dialect, "OLD"), _parts(dialect, "NEW")
    pairs = [(o_open, n_open), (o_key, n_key), *zip(o_ones, n_ones, strict=True)]
    return " OR ".join(
        f"({a}) IS DISTINCT FROM ({b})" if dialect != "sqlite" else f"({a}) IS NOT ({b})" for a, b in pairs
    )


TRIGGERS = ("wall_tally_ins", "wall_tally_upd", "wall_tally_del")


def trigger_ddl(dialect: str) -> list[str]:
    """The statements that make the tally's triggers on `dialect`."""
    cols = ", ".join(READS)
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER wall_tally_ins AFTER INSERT ON ticket BEGIN {_add(dialect, 'NEW')} END",
            f"CREATE TRIGGER wall_tally_upd AFTER UPDATE OF {cols} ON ticket WHEN {_changed(dialect)} "
            f"BEGIN {_take(dialect, 'OLD')} {_add(dialect, 'NEW')} END",
            f"CREATE TRIGGER wall_tally_del AFTER DELETE ON ticket BEGIN {_take(dialect, 'OLD')} END",
        ]
    o_key, n_key = _parts(dialect, "OLD")[1], _parts(dialect, "NEW")[1]
    function = f"""CREATE OR REPLACE FUNCTION wall_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_add(dialect, "NEW")}
  ELSIF TG_OP = 'DELETE' THEN
    {_take(dialect, "OLD")}
  ELSIF {n_key} < {o_key} THEN
    {_add(dialect, "NEW")}
    {_take(dialect, "OLD")}
  ELSE
    {_take(dialect, "OLD")}
    {_add(dialect, "NEW")}
  END IF;
  RETURN NULL;
END $$"""
    return [function, *pg_triggers("wall_tally", cols, _changed(dialect))]


def pg_triggers(prefix: str, cols: str, changed: str) -> list[str]:
    """PostgreSQL: the insert, update (of `cols`, when `changed`) and delete
    triggers on ticket that run the function `<prefix>_apply()`."""
    run = f"EXECUTE FUNCTION {prefix}_apply()"
    return [
        f"CREATE TRIGGER {prefix}_ins AFTER INSERT ON ticket FOR EACH ROW {run}",
        f"CREATE TRIGGER {prefix}_upd AFTER UPDATE OF {cols} ON ticket FOR EACH ROW WHEN ({changed}) {run}",
        f"CREATE TRIGGER {prefix}_del AFTER DELETE ON ticket FOR EACH ROW {run}",
    ]


def drop_triggers(prefix: str, dialect: str) -> list[str]:
    """Drop the triggers `<prefix>_ins/_upd/_del` (and PostgreSQL's function)."""
    on = "" if dialect == "sqlite" else " ON ticket"
    out = [f"DROP TRIGGER IF EXISTS {prefix}_{op}{on}" for op in ("ins", "upd", "del")]
    return out + ([] if dialect == "sqlite" else [f"DROP FUNCTION IF EXISTS {prefix}_apply()"])


def drop_ddl(dialect: str) -> list[str]:
    return drop_triggers("wall_tally", dialect)
