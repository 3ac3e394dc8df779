"""The queue's SQL: views, filter text, sorts, count and one page of light rows.

No Textual here. The console asks only for the rows in view (`page`), so the
cost of a screen does not grow with the desk. Deadline states are computed in
SQL by app.clocks (the rule of its `view`, as SQL expressions: at risk: less
than `at_risk_share` of the clock's length left; breached: past due; a paused
ticket is judged when it paused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import ColumnElement, Select, case, func, select, union
from sqlalchemy import text as sql_text
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import UnaryExpression
from sqlmodel import Session, col

from app import clocks, queue_filter, queue_views, queue_walk, unread
from app.errors import InputError
from app.queue_views import DUE_VIEWS, OPEN_STATUSES
from app.queue_walk import ROWS, SKIP, UPTO
from models import Customer, Order, Staff, Ticket
from models.enums import TicketStatus

# (id, title) in the order of the keys 1-9
VIEWS: tuple[tuple[str, str], ...] = (
    ("my", "My tickets"),
    ("unassigned", "Unassigned"),
    ("due_today", "Due today"),
    ("at_risk", "At risk"),
    ("breached", "Breached"),
    ("escalations", "Escalations"),
    ("refunds", "Refunds"),
    ("out_of_scope", "Out of scope"),
    ("all", "All"),
)
# views without a digit key of their own (the console offers them otherwise)
MORE_VIEWS: tuple[tuple[str, str], ...] = (("replied", "Replied"),)
VIEW_TITLES = dict(VIEWS + MORE_VIEWS)
SORTS: tuple[str, ...] = ("due", "age", "priority")
CLOSED = TicketStatus.CLOSED.value
# the console counts a view's tickets up to this many, then says "10,000+":
# counting every match of one letter over a million tickets took seconds
COUNT_CAP = 10_000


class QueueRow(NamedTuple):
    """One queue line: only what the table shows (customer text still raw)."""

    id: int
    reference: str
    kind: str
    status: str
    priority: int
    customer: str | None
    subject: str
    assignee: str | None
    received_at: datetime
    due_at: datetime | None
    due_clock: str | None
    clock_start: datetime | None
    paused_since: datetime | None
    version: int
    stopped_at: datetime | None  # the governing clock was met at this instant
    mail_flag: str | None = None  # reopened | follow_up | bounced (app.mail): shown as a marker
    unread: bool = False  # customer mail the person asking (QueueQuery.actor_id) has not seen

    def clock(self, now: datetime, share: float = clocks.DEFAULT_AT_RISK_SHARE) -> clocks.ClockView:
        """The governing clock of the row at `now` (what its SLA column shows)."""
        return clocks.view(self.clock_start, self.due_at, now, self.stopped_at, self.paused_since, share)


@dataclass(frozen=True)
class QueueQuery:
    """What the queue shows: a view, filter text and a sort, as of `now`."""

    view: str = "all"
    text: str = ""
    sort: str = "due"
    actor_id: int | None = None
    tz: str = "Europe/Tallinn"
    at_risk_share: float = 0.25

    def __post_init__(self) -> None:
        if self.view not in VIEW_TITLES:
            raise InputError(f"unknown queue view {self.view!r} (one of: {', '.join(VIEW_TITLES)})")
        if self.sort not in SORTS:
            raise InputError(f"unknown sort {self.sort!r} (one of: {', '.join(SORTS)})")


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt if dt.utcoffset() is not None else dt.replace(tzinfo=UTC)


def _instant(dt: datetime) -> datetime:
    """`dt` (a stored instant, never NULL) timezone-aware."""
    return dt if dt.utcoffset() is not None else dt.replace(tzinfo=UTC)


def _ticket_id() -> ColumnElement[int]:
    """Ticket.id as a column of ints (the model types it int | None: unset before insert)."""
    return cast("ColumnElement[int]", col(Ticket.id))


S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


def _from(stmt: S, q: QueueQuery, join: bool | None = None) -> S:
    """`stmt` over the ticket, and its customer and order rows when the
    conditions read them (`join`; by default as `conditions` has them)."""
    if join is None:
        join = queue_filter.needs_join(q.text)
    if join:
        stmt = (
            stmt.select_from(Ticket)
            .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
            .outerjoin(Order, col(Order.id) == col(Ticket.order_id))
        )
    return stmt


def conditions(session: Session, q: QueueQuery, now: datetime, *, ordered: bool = False) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the view and the filter text (over `_from(stmt, q)`), at `now`."""
    conds, _join = _where(session, q, ordered=ordered, at=queue_views.instants(q, now))
    return conds


def _where(
    session: Session, q: QueueQuery, *, ordered: bool = False, at: dict[str, datetime] | None = None
) -> tuple[list[ColumnElement[bool]], bool]:
    """(The WHERE clauses of the view and the filter text, whether they read
    the customer and order rows beside the ticket), the view's judged at the
    bind parameters of app.queue_views (`_values(q, now)` gives them), or at
    the instants `at` they carry.
    `ordered`: the clauses feed a sorted page (app.queue_views.conditions; a
    filter most tickets match is tested row by row in that order)."""
    conds = queue_views.conditions(q, session.get_bind().dialect.name, ordered=ordered, at=at)
    join = False
    if q.text.strip():
        text, join = queue_filter.condition(session, q.text, ordered=ordered)
        conds.append(text)
    return conds, join


def _order(q: QueueQuery) -> tuple[ColumnElement[Any] | UnaryExpression[Any], ...]:
    due, tid = col(Ticket.due_at), col(Ticket.id)
    due_nulls_last = case((due.is_(None), 1), else_=0)
    if q.sort == "age":
        return (col(Ticket.received_at).asc(), tid.asc())
    if q.sort == "priority":
        return (col(Ticket.priority).asc(), due_nulls_last, due.asc(), tid.asc())
    if q.view in DUE_VIEWS:
        return (due.asc(), tid.asc())
    return (due_nulls_last, due.asc(), tid.asc())


def count(session: Session, q: QueueQuery, now: datetime, *, cap: int | None = None) -> int:
    """How many tickets the view holds (with the filter applied); with `cap`,
    at most cap + 1 (the count stops at the first cap + 1 rows found: more
    than `cap` is all the console says)."""
    conds, join = _where(session, q)
    values = queue_views.instants(q, now)
    if cap is None:
        return int(session.scalar(_from(select(func.count(col(Ticket.id))), q, join).where(*conds), values) or 0)
    # every ticket: the filter's halves (substring, full text) each counted up to the cap first
    halves = queue_filter.halves(session, q.text) if q.view == "all" else []
    for ids in [*halves, _from(select(col(Ticket.id)), q, join).where(*conds)]:
        n = int(session.scalar(select(func.count()).select_from(ids.limit(cap + 1).subquery()), values) or 0)
        if n > cap:
            return n
    return n


Where = tuple[list[ColumnElement[bool]], bool]  # (conditions, whether they read customer and order)
Parts = list[list[ColumnElement[bool]]]


class _Walk(NamedTuple):
    """A view's page statements, judged at bind parameters (`_values`): built
    once per view and sort (`_walk`), run at any instant and any offset."""

    dated: Select[Any]  # the rows [skip, skip + rows) with a deadline, in (due, id) order (or the view's sort)
    undated: Select[Any] | None  # those without, in id order (None: a deadline view has none; or sorted whole)
    dated_count: Select[Any] | None  # how many have a deadline (where the undated ones start)
    walked: bool  # PostgreSQL walks it with bitmap and sequential scans off (`_walked`)
    whole: bool = False  # and sequential scans too, with filter text (`_filter_walk`)


_WALKS: dict[tuple[str, QueueQuery], _Walk] = {}  # (dialect, query with no filter text) -> its statements
_WALKS_KEPT = 64


def _walk(session: Session, q: QueueQuery) -> _Walk:
    """`q`'s page statements: kept per view when no filter text is typed, so a
    view switch builds no SQL (At risk's 2 parts and their conditions took
    about 3 ms of Python a page, 13 parts 5 ms; and each read-ahead chunk
    built them again); filter text builds its own each time (its form
    depends on the text, app.queue_filter)."""
    dialect = session.get_bind().dialect.name
    key = (dialect, q)
    kept = _WALKS.get(key) if not q.text.strip() else None
    if kept is not None:
        return kept
    if _filter_walks(q):
        match = queue_filter.walk_match(session, q.text)
        if match is not None:
            return _filter_walk(dialect, match)
    where = _where(session, q, ordered=True)
    parts = queue_views.parts(q, dialect)
    if not parts:  # read and sorted whole
        conds, join = where
        base = _from(select(_ticket_id()), q, join).where(*conds).order_by(*_order(q)).offset(SKIP).limit(ROWS)
        walk = _Walk(base, None, None, False)
    else:
        undated = None if q.view in DUE_VIEWS else _part(q, where, parts, False)
        counted = None if undated is None else _dated_count(q, where, parts)
        walk = _Walk(_part(q, where, parts, True), undated, counted, len(parts) > 1 or q.view in DUE_VIEWS)
    if not q.text.strip():
        if len(_WALKS) >= _WALKS_KEPT:
            _WALKS.clear()
        _WALKS[key] = walk
    return walk


def _filter_walks(q: QueueQuery) -> bool:
    """All in due order, filtered: read from the filter's walk table when its text allows (app.queue_walk)."""
    return q.view == "all" and q.sort == "due" and bool(q.text.strip())


def _filter_walk(dialect: str, match: ColumnElement[bool]) -> _Walk:
    """All, filtered: the rows of the filter's walk table matching `match`,
    read in its own (due, id) order (app.queue_walk)."""
    return _Walk(*queue_walk.statements(dialect, match), True, True)


def _values(q: QueueQuery, now: datetime, offset: int, limit: int) -> dict[str, Any]:
    """The bind parameters of `q`'s statements: its instants at `now`, and the rows asked for."""
    return {**queue_views.instants(q, now), "skip": offset, "rows": limit, "upto": offset + limit}


def _part(q: QueueQuery, where: Where, parts: Parts, dated: bool) -> Select[Any]:
    """Ids of the dated rows [skip, skip + rows) in (due, id) order, or of the
    undated ones in id order: each part's first skip + rows rows (its index
    order, it stops there), merged."""
    conds, join = where
    due, tid = col(Ticket.due_at), _ticket_id()
    has_due = due.is_not(None) if dated else due.is_(None)
    order = (due, tid) if dated else (tid,)
    if len(parts) == 1:
        return _from(select(tid), q, join).where(*conds, *parts[0], has_due).order_by(*order).offset(SKIP).limit(ROWS)
    arms = [
        _from(select(tid.label("id"), due.label("due")), q, join)
        .where(*conds, *b, has_due)
        .order_by(*order)
        .limit(UPTO)
        .subquery()
        for b in parts
    ]
    merged = union(*[select(a.c.id, a.c.due) for a in arms]).subquery()
    merged_order = (merged.c.due, merged.c.id) if dated else (merged.c.id,)
    return select(merged.c.id).order_by(*merged_order).offset(SKIP).limit(ROWS)


def _run(session: Session, q: QueueQuery, walk: _Walk, stmt: Select[Any], values: dict[str, Any]) -> list[int]:
    """Ids `stmt` (one of `walk`'s) finds at `values`."""
    dialect = session.get_bind().dialect.name
    if q.view == "unassigned" and dialect == "sqlite" and q.sort == "due":
        return _unassigned_sqlite(session, stmt.params(values))
    if walk.walked and dialect == "postgresql":
        return _walked(session, stmt, values, whole=walk.whole or not q.text.strip())
    return list(session.scalars(stmt, values))


_WALK_SETTINGS = ("enable_bitmapscan", "enable_seqscan")


def _walked(
    session: Session, stmt: Select[Any], values: dict[str, Any] | None = None, *, whole: bool = True
) -> list[int]:
    """PostgreSQL: `stmt`'s parts each walked in their index's order until
    they have their rows. The planner misjudges how few rows the at-risk
    test keeps (51 of a status's 12,456 estimated, 2,408 found, at 100,000
    tickets) and would read each part's whole range through a bitmap and
    sort it: At risk's page took 61-66 ms that way, 2-3 ms walked (the
    other views: the same or less). For this statement only (the rest of
    the transaction plans as before: the setting goes back to the server's
    default after it; when the statement fails, or is cancelled because the
    page is no longer wanted, the transaction is rolled back and that error,
    not a second one from an aborted transaction, is the one raised).

    `whole` (a view with no filter text): sequential scans are off too. For
    the 2,468 rows of a read-ahead's parts the planner chose to read At risk's
    whole table (1,000,000 tickets: 163 ms, 39,976 pages) over walking the due
    index (2,468 rows, 1,873 pages). Filter text keeps the planner's choice
    of how to read the customer and order rows beside the ticket."""
    off = _WALK_SETTINGS if whole else _WALK_SETTINGS[:1]
    listed = ", ".join(f"'{name}'" for name in off)
    session.execute(sql_text("SELECT " + ", ".join(f"set_config('{name}', 'off', true)" for name in off)))
    ids = list(session.scalars(stmt, values or {}))
    # (back to the server's default: SET LOCAL ... TO DEFAULT)
    session.execute(sql_text(f"SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN ({listed})"))
    return ids


def _unassigned_sqlite(session: Session, stmt: Select[int]) -> list[int]:
    """`stmt` (a page of the unassigned view, its values bound) through its partial
    index: SQLite, with no statistics, would rather sort every unassigned ticket
    from the (assignee, status, due) index (SQLAlchemy writes no INDEXED BY: the
    statement is written out, its values inline)."""
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    sql = re.sub(r"\bFROM ticket\b", "FROM ticket INDEXED BY ix_ticket_unassigned_due", sql, count=1)
    return [int(r[0]) for r in session.connection().exec_driver_sql(sql)]


def _dated_count(q: QueueQuery, where: Where, parts: Parts) -> Select[Any]:
    """How many rows of the view have a deadline (its parts, each through its index)."""
    conds, join = where
    due, tid = col(Ticket.due_at), _ticket_id()
    arms = [_from(select(tid.label("id")), q, join).where(*conds, *b, due.is_not(None)) for b in parts]
    merged = union(*arms).subquery() if len(arms) > 1 else arms[0].subquery()
    return select(func.count()).select_from(merged)


def _ordered_ids(
    session: Session, q: QueueQuery, now: datetime, offset: int, limit: int, *, every_part: bool = False
) -> list[int]:
    """Ids of rows [offset, offset+limit) of the view in its sort order.

    Sorted by due with no-deadline last, the dated rows and the undated ones
    are read apart (due, id: the order of the due_at index, id its
    tie-break; then id), each in parts an index orders (app.queue_views
    `parts`), so a page follows indexes and stops when full instead of
    sorting every row of the view (at risk: 75,000 at 1,000,000 tickets; an
    OR of two indexes, as "my", had the desk scanned in id order for its
    undated rows). Same rows as the one sorted statement. `every_part`: the
    undated part is read even when the dated one filled the page (`warm`).
    """
    if _filter_walks(q) and session.get_bind().dialect.name == "postgresql":
        found = queue_walk.within(session, q.text, offset, limit, lambda stmt: _walked(session, stmt))
        if found is not None:
            return found
    walk = _walk(session, q)
    values = _values(q, now, offset, limit)
    dated = _run(session, q, walk, walk.dated, values)
    if walk.undated is None or (len(dated) == limit and not every_part):
        return dated
    skip = 0  # undated rows before the page: the page starts among them only when no dated row is in it
    if not dated and offset and walk.dated_count is not None:
        skip = max(0, offset - int(session.scalar(walk.dated_count, values) or 0))
    rest = _values(q, now, skip, limit - len(dated))
    return dated + _run(session, q, walk, walk.undated, rest)


def warm(session: Session, q: QueueQuery, now: datetime) -> None:
    """Build `q`'s page statements and run them asking for no row (LIMIT 0):
    the statements are kept (`_walk`) and the engine keeps them compiled, so
    the first switch to the view builds no SQL. A view's first page cost
    8-15 ms more CPU than its next ones (SQLite, 100,000 tickets: At risk
    26.6 against 11 ms, its parts' SQL compiled once); the rows and unread
    statements are the same for every view (compiled by the first page shown)."""
    _ordered_ids(session, q, now, 0, 0, every_part=True)


_Assignee = aliased(Staff)
_ID_CHUNK = 20_000


def page(session: Session, q: QueueQuery, now: datetime, offset: int, limit: int) -> list[QueueRow]:
    """Rows [offset, offset+limit) of the view in its sort order.

    Only the ticket ids of the page are found on the ticket table (index
    order); customer and assignee are looked up for those rows alone.
    """
    if limit <= 0:
        return []
    ids = _ordered_ids(session, q, now, max(0, int(offset)), limit)
    if not ids:
        return []
    cols = (
        col(Ticket.id),
        col(Ticket.reference),
        col(Ticket.kind),
        col(Ticket.status),
        col(Ticket.priority),
        col(Customer.name),
        col(Ticket.subject),
        col(_Assignee.login),
        col(Ticket.received_at),
        col(Ticket.due_at),
        col(Ticket.due_clock),
        clocks.start_sql(),
        col(Ticket.paused_since),
        col(Ticket.version),
        col(Customer.email),
        clocks.stop_sql(),
        col(Ticket.mail_flag),
    )
    by_id: dict[int, QueueRow] = {}
    tid = col(Ticket.id)
    # in chunks: PostgreSQL takes at most 65,535 bound parameters a statement
    for i in range(0, len(ids), _ID_CHUNK):
        stmt = (
            select(*cols)
            .select_from(Ticket)
            .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
            .outerjoin(_Assignee, col(_Assignee.id) == col(Ticket.assignee_id))
            .where(tid.in_(ids[i : i + _ID_CHUNK]))
        )
        for r in session.execute(stmt):
            by_id[r[0]] = QueueRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5] or r[14],
                r[6] or "",
                r[7],
                _instant(r[8]),
                _aware(r[9]),
                r[10],
                _aware(r[11]),
                _aware(r[12]),
                r[13],
                _aware(r[15]),
                r[16],
            )
    new_mail = unread.unread_ids(session, q.actor_id, ids)
    return [by_id[i]._replace(unread=True) if i in new_mail else by_id[i] for i in ids if i in by_id]


__all__ = [
    "COUNT_CAP",
    "MORE_VIEWS",
    "OPEN_STATUSES",
    "SORTS",
    "VIEWS",
    "VIEW_TITLES",
    "QueueQuery",
    "QueueRow",
    "conditions",
    "count",
    "page",
    "warm",
]
