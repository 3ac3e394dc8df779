"""The wall display's SQL: every statement of app.dashboard_data.snapshot(),
built once per dialect and at-risk share with bind parameters for the
instants (`now`, `b0`..`bN` the local midnights, `outbox_cutoff`), so
SQLAlchemy's compiled cache is hit on every refresh.

The clock rules (which clock runs, when it is overdue or at risk, a pause
freezing it, the clocks judged for compliance) are app.clocks' SQL forms.
No customer column is ever selected.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.sql import ColumnElement, Executable
from sqlalchemy.sql.elements import BindParameter

from app import clocks, wall_daily, wall_ranges, wall_tally
from app.business_calendar import BusinessCalendar
from models import Message, Quarantine, Ticket, WallDaily, WallTally, table_of
from models.enums import DeliveryState, QuarantineState, TicketKind, TicketStatus

TREND_DAYS = 30
NEXT_DEADLINES = 10
BREACHED_LIST_LIMIT = 200  # the breached tile has the full count

_CLOSED = TicketStatus.CLOSED.value
_T = table_of(Ticket)  # the ticket table's typed columns
_DT = _T.c.received_at.type
Statements = dict[str, Executable]


def _p(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=_DT)


def _e(expr: object) -> ColumnElement[Any]:
    """An SQL expression app.clocks hands over untyped (its JudgedClock fields)."""
    return cast("ColumnElement[Any]", expr)


def day_bounds(cal: BusinessCalendar, today: date, days: int) -> list[datetime]:
    """Local midnights from `days - 1` days ago to tomorrow, as instants."""
    return [datetime.combine(today - timedelta(days=days - 1 - i), time(0), tzinfo=cal.tz) for i in range(days + 1)]


def _bucket(expr: ColumnElement[Any], bounds: Sequence[Any]) -> ColumnElement[Any]:
    """Index i of the local day with bounds[i] <= expr < bounds[i + 1], else
    NULL: a binary search in nested CASEs (a handful of comparisons a row)."""

    def node(lo: int, hi: int) -> ColumnElement[Any]:
        if hi - lo == 1:
            return literal(lo)
        mid = (lo + hi) // 2
        return case((expr < bounds[mid], node(lo, mid)), else_=node(mid, hi))

    return case(
        (expr.is_(None), null()), (or_(expr < bounds[0], expr >= bounds[-1]), null()), else_=node(0, len(bounds) - 1)
    )


def _day_counts(col: ColumnElement[Any], bounds: Sequence[Any], now: Any) -> list[Any]:
    """How many `col` instants fall on each local day up to `now`: one range
    count a day on the column's index (index-only, no table rows read)."""
    return [
        select(func.count()).where(col >= lo, col < hi, col <= now).scalar_subquery()
        for lo, hi in itertools.pairwise(bounds)
    ]


def _sum(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _live(dialect: str, share: float, now: Any, today_start: Any, tomorrow_start: Any) -> Statements:
    """Tiles, per-agent load and the two lists: the open tickets now."""
    out: Statements = {}
    # the time-independent counts per assignee, as kept (app.wall_tally)
    w = table_of(WallTally)
    out["tally"] = select(w.c.assignee, *(w.c[n] for n in wall_tally.COUNTS)).where(w.c.open != 0)
    # the time-dependent ones as index ranges (app.wall_ranges): per assignee
    # (0: none) the breached clocks (state 2) and the clocks at risk (state 1)
    running, key = wall_ranges.running_pred(dialect), wall_tally.assignee_key(_T)
    overdue = clocks.overdue_sql(now)
    breached = select(key, literal(2), func.count()).where(running, overdue).group_by(key)
    at_risk = (
        select(key, literal(1), func.count())
        .where(
            running,
            wall_ranges.risk_from(dialect, share) < clocks.risk_now_sql(dialect, now),
            ~overdue,
            # without a pause the rule's two tests are the range and "not overdue"
            or_(_T.c.paused_since.is_(None), and_(*clocks.at_risk_sql(dialect, now, share))),
        )
        .group_by(key)
    )
    out["load"] = union_all(breached, at_risk)
    out["acks"] = select(func.count()).where(
        wall_ranges.acks_pred(dialect), _T.c.ack_due_at >= today_start, _T.c.ack_due_at < tomorrow_start
    )
    # the lists walk the running clocks' due_at index (ix_ticket_wall_due) in
    # due order and stop at their limit: not yet due; waiting on the customer
    # since before its due; overdue
    t = _T.c
    due = t.due_at
    cols = (t.reference, t.kind, t.due_clock, due, t.assignee_id)
    tail = (clocks.start_sql().label("start"), t.paused_since)
    not_due = due >= clocks.instant(now)
    paused_in_time = and_(due < clocks.instant(now), t.paused_since.is_not(None), t.paused_since <= due)

    def part(n: int, cond: ColumnElement[bool], limit: int) -> Any:
        q = select(*cols, literal(n).label("part"), *tail).where(running, cond)
        return q.order_by(due, t.reference).limit(limit).subquery().select()

    out["lists"] = union_all(
        part(0, not_due, NEXT_DEADLINES),
        part(0, paused_in_time, NEXT_DEADLINES),
        part(1, clocks.overdue_sql(now), BREACHED_LIST_LIMIT),
    )
    return out


def _compliance(now: Any, bounds: list[BindParameter[Any]]) -> Executable:
    """Compliance and breaches per day in one scan of the ticket table: slot
    "a" is each kind's first judged clock (complaint ack, escalation final
    response, refund review), slot "b" a complaint's resolution clock. Only
    open tickets and tickets closed in the window can have a clock that
    stopped or came due in it (every stop is at or before closing)."""
    kind_is = {
        k: _T.c.kind == k for k in (TicketKind.COMPLAINT.value, TicketKind.ESCALATION.value, TicketKind.REFUND.value)
    }
    judged_list = clocks.judged_clocks()
    slot_a = [jc for jc in judged_list if jc.where is None]
    res = next(jc for jc in judged_list if jc.where is not None)
    b_cond = and_(kind_is[res.kind], _e(res.where))
    base = (
        select(
            case(*[(kind_is[jc.kind], literal(jc.key)) for jc in slot_a]).label("a_k"),
            case(*[(kind_is[jc.kind], _e(jc.due)) for jc in slot_a]).label("a_due"),
            case(*[(kind_is[jc.kind], _e(jc.stopped)) for jc in slot_a]).label("a_stop"),
            case((b_cond, _e(res.due))).label("b_due"),
            case((b_cond, _e(res.stopped))).label("b_stop"),
            _T.c.paused_since.label("paused"),
            case((wall_daily.extended(), 1), else_=0).label("ext"),
        )
        .where(or_(_T.c.status != _CLOSED, _T.c.closed_at >= bounds[0]))
        .cte("judged_base")
        .prefix_with("MATERIALIZED")
    )
    jb = base.c

    def _slot(key: ColumnElement[Any], due_col: ColumnElement[Any], stop_col: ColumnElement[Any]) -> Any:
        return select(
            key.label("k"), due_col.label("due"), stop_col.label("stop"), jb.paused.label("paused"), jb.ext.label("ext")
        ).where(
            due_col.is_not(None),
            or_(and_(stop_col >= bounds[0], stop_col <= now), and_(due_col >= bounds[0], due_col < now)),
        )

    judged = (
        union_all(_slot(jb.a_k, jb.a_due, jb.a_stop), _slot(literal(res.key), jb.b_due, jb.b_stop))
        .cte("judged")
        .prefix_with("MATERIALIZED")
    )
    j = judged.c
    j_over = and_(j.stop.is_(None), clocks.overdue_sql(now, j.due, j.paused))
    events = (
        select(
            j.k,
            j.ext,
            case((j.stop.is_not(None), j.stop), (j_over, j.due), else_=None).label("ev"),
            case((j.due < now, j.due), else_=None).label("due_past"),
            case((and_(j.stop.is_not(None), j.stop <= j.due), 1), else_=0).label("met"),
            case((or_(and_(j.stop.is_not(None), j.stop > j.due), j_over), 1), else_=0).label("breach"),
        )
        .cte("events")
        .prefix_with("MATERIALIZED")
    )
    e = events.c
    ev_b = _bucket(case((e.ev <= now, e.ev), else_=None), bounds).label("ev_b")
    due_b = _bucket(e.due_past, bounds).label("due_b")
    return select(e.k, e.ext, ev_b, due_b, e.met, e.breach, func.count()).group_by(
        e.k, e.ext, "ev_b", "due_b", e.met, e.breach
    )


def _kept(dialect: str, now: Any) -> Statements:
    """The 30-day figures from the kept hours (app.wall_daily): `daily` sums
    the hours of each local day (`h0`..`hN` the local midnights' hours) up to
    the current hour `h_now`; `daily_live` counts what depends on now in the
    current hour (from `hour_start`): received, closed, fallen overdue."""
    hours = [bindparam(f"h{i}", type_=Integer) for i in range(TREND_DAYS + 1)]
    h_now, hour_start = bindparam("h_now", type_=Integer), _p("hour_start")
    t = table_of(WallDaily)
    judged = wall_daily.judged()
    live = [wall_daily.RECEIVED, wall_daily.CLOSED] + [f"{j.key}:{wall_daily.OVER}" for j in judged]
    out: Statements = {}
    out["daily"] = (
        select(t.c.figure, _bucket(t.c.hour, hours).label("d"), func.sum(t.c.n))
        .where(t.c.hour >= hours[0], t.c.hour <= h_now, or_(t.c.hour < h_now, t.c.figure.not_in(live)))
        .group_by(t.c.figure, "d")
    )
    parts = [
        select(literal(name), func.count()).where(c >= hour_start, c <= now)
        for name, c in ((wall_daily.RECEIVED, _T.c.received_at), (wall_daily.CLOSED, _T.c.closed_at))
    ]
    parts += [_fell_overdue(dialect, j, hour_start, now) for j in judged]
    out["daily_live"] = union_all(*parts)
    return out


def _fell_overdue(dialect: str, j: wall_daily.Judged, hour_start: Any, now: Any) -> Select[str, int]:
    """How many of the judged clocks `j` fell overdue from `hour_start` to
    `now`: a range on its running clocks' partial index. SQLite names the
    index (without statistics its planner prefers the kind index and reads
    every open ticket of the kind): the conditions as text, so the FROM is
    only the hinted table."""
    name = literal(f"{j.key}:{wall_daily.OVER}")
    if dialect != "sqlite":
        due = _e(j.clock.due)
        return select(name, func.count()).where(
            wall_daily.running_pred(j, dialect), due >= hour_start, due < now, *j.over()
        )

    def as_text(expr: object) -> ColumnElement[Any]:
        return literal_column(f"({wall_ranges.literal(_e(expr), dialect)})")

    due = as_text(j.clock.due)
    hinted = text(f"ticket INDEXED BY {wall_daily.index_name(j)}")
    return (
        select(name, func.count())
        .select_from(hinted)
        .where(wall_daily.running_pred(j, dialect), due >= hour_start, due < now, *(as_text(c) for c in j.over()))
    )


@lru_cache(maxsize=8)
def statements(dialect: str, at_risk_share: float) -> Statements:
    """Every query of the snapshot, by name."""
    now = clocks.now_param("now")
    bounds = [_p(f"b{i}") for i in range(TREND_DAYS + 1)]
    out = _live(dialect, at_risk_share, now, bounds[-2], bounds[-1])
    out["compliance"] = _compliance(now, bounds)
    out.update(_kept(dialect, now))
    for name, col in (("received", _T.c.received_at), ("closed", _T.c.closed_at)):
        out[name] = select(*_day_counts(col, bounds, now))
    q, m = table_of(Quarantine).c, table_of(Message).c
    out["quarantined"] = select(func.count()).where(q.state == QuarantineState.HELD.value)
    out["mail"] = select(
        _sum(m.delivery == DeliveryState.FAILED.value),
        _sum(
            and_(
                m.delivery == DeliveryState.QUEUED.value,
                func.coalesce(m.next_attempt_at, m.created_at) < _p("outbox_cutoff"),
            )
        ),
    ).where(wall_ranges.undelivered_pred(dialect))
    return out
