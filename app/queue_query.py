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
from datetime import UTC, datetime, time, timedelta
from typing import Any, NamedTuple, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select, union
from sqlalchemy import text as sql_text
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import UnaryExpression
from sqlmodel import Session, col

from app import clocks, queue_filter, queue_ranges, unread
from app.errors import InputError
from models import Customer, Order, Staff, Ticket
from models.enums import TicketKind, TicketStatus

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


def _open() -> ColumnElement[bool]:
    # the value written out, not bound: SQLite uses a partial index only when the
    # query's terms are those of its WHERE (migration 0019: unassigned)
    return col(Ticket.status) != literal_column(f"'{CLOSED}'")


# Every status but closed, spelled out: `status IN (...)` lets the
# (status, due_at) index hand rows over in due order per status, so a page of
# a deadline view reads a few rows instead of sorting the whole open set.
OPEN_STATUSES: tuple[str, ...] = tuple(s.value for s in TicketStatus if s.value != CLOSED)

# views whose condition implies `due_at IS NOT NULL`: sorted by due, they need
# no "no deadline last" term and can follow the index
_DUE_VIEWS = frozenset({"due_today", "at_risk", "breached"})


def _open_in() -> ColumnElement[bool]:
    return col(Ticket.status).in_(OPEN_STATUSES)


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
    """The WHERE clauses of the view and the filter text (over `_from(stmt, q)`)."""
    conds, _join = _where(session, q, now, ordered=ordered)
    return conds


def _where(
    session: Session, q: QueueQuery, now: datetime, *, ordered: bool = False
) -> tuple[list[ColumnElement[bool]], bool]:
    """(The WHERE clauses of the view and the filter text, whether they read
    the customer and order rows beside the ticket).

    `ordered`: the clauses feed a sorted page (a deadline view then tests
    "not closed" row by row as it walks the due_at index, `_branches`; a
    filter most tickets match is tested row by row in that order); a count
    keeps the form whose plan counts fastest (the open statuses named, for
    the (status, due_at) index). Same rows either way.
    """
    now = _instant(now)
    conds: list[ColumnElement[bool]] = []
    v = q.view
    if v == "my":
        conds += [
            _open(),
            or_(col(Ticket.assignee_id) == (q.actor_id or -1), col(Ticket.reviewer_id) == (q.actor_id or -1)),
        ]
    elif v == "unassigned":
        conds += [_open(), col(Ticket.assignee_id).is_(None)]
    elif v == "due_today":
        tz = ZoneInfo(q.tz)
        local = now.astimezone(tz).date()
        start = datetime.combine(local, time(0), tz)
        end = datetime.combine(local + timedelta(days=1), time(0), tz)
        conds += [_open() if ordered else _open_in(), col(Ticket.due_at) >= start, col(Ticket.due_at) < end]
    elif v == "breached":
        conds += [_open() if ordered else _open_in(), *clocks.breached_sql(now)]
    elif v == "at_risk":
        conds += [
            _open(),
            col(Ticket.due_at).is_not(None),
            clocks.stop_sql().is_(None),
            *clocks.at_risk_sql(session.get_bind().dialect.name, now, float(q.at_risk_share)),
        ]
    elif v == "escalations":
        conds += [_open(), col(Ticket.kind) == TicketKind.ESCALATION.value]
    elif v == "refunds":
        conds += [_open(), col(Ticket.kind) == TicketKind.REFUND.value]
    elif v == "replied":
        conds += [_open(), unread.replied()]
    elif v == "out_of_scope":
        conds += [
            or_(col(Ticket.out_of_scope).is_not(None), and_(col(Ticket.kind) == TicketKind.INQUIRY.value, _open()))
        ]
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
    if q.view in _DUE_VIEWS:
        return (due.asc(), tid.asc())
    return (due_nulls_last, due.asc(), tid.asc())


def count(session: Session, q: QueueQuery, now: datetime, *, cap: int | None = None) -> int:
    """How many tickets the view holds (with the filter applied); with `cap`,
    at most cap + 1 (the count stops at the first cap + 1 rows found: more
    than `cap` is all the console says)."""
    conds, join = _where(session, q, now)
    if cap is None:
        return int(session.scalar(_from(select(func.count(col(Ticket.id))), q, join).where(*conds)) or 0)
    # every ticket: the filter's halves (substring, full text) each counted up to the cap first
    halves = queue_filter.halves(session, q.text) if q.view == "all" else []
    for ids in [*halves, _from(select(col(Ticket.id)), q, join).where(*conds)]:
        n = int(session.scalar(select(func.count()).select_from(ids.limit(cap + 1).subquery())) or 0)
        if n > cap:
            return n
    return n


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _branches(q: QueueQuery, now: datetime, dialect: str) -> list[list[ColumnElement[bool]]]:
    """The view sorted by due as parts an index hands over in (due, id)
    order, each with its own conditions beside the view's: one per open
    status ((status, due_at) and its kind and assignee forms), and apart the
    rows no such index orders (reviewed by me, out of scope, at risk judged
    at a pause). [[]]: the view walks the due_at index whole ("all"); []:
    it is read and sorted (a sort other than due, "replied")."""
    if q.sort != "due" or q.view == "replied":
        return []
    if q.view in ("all", "unassigned", "due_today", "breached"):  # (unassigned: its own partial index, migration 0019)
        # A deadline view walks the due_at index over its range: only an open ticket whose clock
        # runs has a deadline (app.workflow.guard), so each row it meets is one of the view's, or
        # (breached) one paused before its due. One part per status would read a page of each
        # status, and plan 12 parts (PostgreSQL: 1-16 ms of planning a page).
        return [[]]
    status = col(Ticket.status)
    per_status: list[list[ColumnElement[bool]]] = [[status == s] for s in OPEN_STATUSES]
    if q.view == "my":
        return [[col(Ticket.assignee_id) == (q.actor_id or -1), *b] for b in per_status] + [
            [col(Ticket.reviewer_id) == (q.actor_id or -1)]
        ]
    if q.view == "out_of_scope":
        inquiry = col(Ticket.kind) == TicketKind.INQUIRY.value
        return [[col(Ticket.out_of_scope).is_not(None)], *[[inquiry, *b] for b in per_status]]
    if q.view == "at_risk":
        # at risk implies due at or after now, unless paused before now (then judged at the pause).
        # Not paused before now: one part walks the due_at index from now, (due, id) order. Only an
        # open ticket whose clock runs has a deadline (app.workflow.guard), so that walk meets the
        # running clocks in the order they fall due, and the first ones are the ones at risk: it
        # stops after about a page. One part per status instead read, for a status with none at
        # risk, every ticket of it due after now (1,000,000 tickets: 7,000 refunds in
        # processing, 13 ms on SQLite, 6,976 pages cold on PostgreSQL, for no row).
        paused = col(Ticket.paused_since)
        running = [or_(paused.is_(None), paused >= now), col(Ticket.due_at) >= now]
        if q.at_risk_share == queue_ranges.INDEXED_SHARE:
            # judged at the pause: the few at risk then, in the partial index of them (migration 0022;
            # the view's own conditions keep those paused after now out, as in every part)
            return [running, [queue_ranges.paused_risk_pred(dialect)]]
        # (paused: a range bounded both sides, so SQLite reads the few paused tickets
        # through their index rather than walk every deadline of the desk)
        return [running, [paused > _EPOCH, paused < now]]
    return per_status


Where = tuple[list[ColumnElement[bool]], bool]  # (conditions, whether they read customer and order)
Branches = list[list[ColumnElement[bool]]]


def _part_ids(
    session: Session, q: QueueQuery, where: Where, branches: Branches, dated: bool, offset: int, limit: int
) -> list[int]:
    """Ids of the dated rows [offset, offset+limit) in (due, id) order, or of
    the undated ones in id order: each part's first offset+limit rows (its
    index order, it stops there), merged."""
    conds, join = where
    due, tid = col(Ticket.due_at), _ticket_id()
    part = due.is_not(None) if dated else due.is_(None)
    if len(branches) == 1:
        order = (due, tid) if dated else (tid,)
        stmt = _from(select(tid), q, join).where(*conds, *branches[0], part).order_by(*order)
        stmt = stmt.offset(offset).limit(limit)
        if q.view == "unassigned" and session.get_bind().dialect.name == "sqlite":
            return _unassigned_sqlite(session, stmt)
        if q.view in _DUE_VIEWS and session.get_bind().dialect.name == "postgresql":
            return _walked(session, stmt, whole=not q.text.strip())
        return list(session.scalars(stmt))
    arms = [
        _from(select(tid.label("id"), due.label("due")), q, join)
        .where(*conds, *b, part)
        .order_by(*((due, tid) if dated else (tid,)))
        .limit(offset + limit)
        .subquery()
        for b in branches
    ]
    merged = union(*[select(a.c.id, a.c.due) for a in arms]).subquery()
    merged_order = (merged.c.due, merged.c.id) if dated else (merged.c.id,)
    stmt = select(merged.c.id).order_by(*merged_order).offset(offset).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        return _walked(session, stmt, whole=not q.text.strip())
    return list(session.scalars(stmt))


_WALK_SETTINGS = ("enable_bitmapscan", "enable_seqscan")


def _walked(session: Session, stmt: Select[Any], *, whole: bool = True) -> list[int]:
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
    ids = list(session.scalars(stmt))
    # (back to the server's default: SET LOCAL ... TO DEFAULT)
    session.execute(sql_text(f"SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN ({listed})"))
    return ids


def _unassigned_sqlite(session: Session, stmt: Select[int]) -> list[int]:
    """`stmt` (a page of the unassigned view) through its partial index: SQLite,
    with no statistics, would rather sort every unassigned ticket from the
    (assignee, status, due) index (SQLAlchemy writes no INDEXED BY: the
    statement is written out, its values inline)."""
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    sql = re.sub(r"\bFROM ticket\b", "FROM ticket INDEXED BY ix_ticket_unassigned_due", sql, count=1)
    return [int(r[0]) for r in session.connection().exec_driver_sql(sql)]


def _dated_count(session: Session, q: QueueQuery, where: Where, branches: Branches) -> int:
    """How many rows of the view have a deadline (its parts, each through its index)."""
    conds, join = where
    due, tid = col(Ticket.due_at), _ticket_id()
    arms = [_from(select(tid.label("id")), q, join).where(*conds, *b, due.is_not(None)) for b in branches]
    merged = union(*arms).subquery() if len(arms) > 1 else arms[0].subquery()
    return int(session.scalar(select(func.count()).select_from(merged)) or 0)


def _ordered_ids(
    session: Session, q: QueueQuery, now: datetime, offset: int, limit: int, *, every_part: bool = False
) -> list[int]:
    """Ids of rows [offset, offset+limit) of the view in its sort order.

    Sorted by due with no-deadline last, the dated rows and the undated ones
    are read apart (due, id: the order of the due_at index, id its
    tie-break; then id), each in parts an index orders (`_branches`), so a
    page follows indexes and stops when full instead of sorting every row of
    the view (at risk: 75,000 at 1,000,000 tickets; an OR of two indexes,
    as "my", had the desk scanned in id order for its undated rows).
    Same rows as the one sorted statement. `every_part`: the undated part is
    read even when the dated one filled the page (`warm`).
    """
    where = _where(session, q, now, ordered=True)
    conds, join = where
    branches = _branches(q, _instant(now), session.get_bind().dialect.name)
    if not branches:
        base = _from(select(_ticket_id()), q, join).where(*conds)
        return list(session.scalars(base.order_by(*_order(q)).offset(offset).limit(limit)))
    dated = _part_ids(session, q, where, branches, True, offset, limit)
    if (len(dated) == limit and not every_part) or q.view in _DUE_VIEWS:  # (a deadline view has no undated rows)
        return dated
    skip = 0  # undated rows before the page: the page starts among them only when no dated row is in it
    if not dated and offset:
        skip = max(0, offset - _dated_count(session, q, where, branches))
    return dated + _part_ids(session, q, where, branches, False, skip, limit - len(dated))


def warm(session: Session, q: QueueQuery, now: datetime) -> None:
    """Run the statements that find the ids of a first page of `q`, asking for
    no row (LIMIT 0): the engine keeps them compiled, so the first switch to
    the view does not build its SQL. A view's first page cost 8-15 ms more CPU
    than its next ones (SQLite, 100,000 tickets: At risk 26.6 against 11 ms, its
    parts' SQL compiled once); the rows and unread statements are the same
    for every view (compiled by the first page shown)."""
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
