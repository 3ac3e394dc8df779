"""The wall display's figures, computed by SQL aggregates (no Textual).

`snapshot()` answers everything the supervisors' dashboard shows with a
handful of GROUP BY queries, so it stays fast however many tickets there are:
it never loads ticket rows, only counts and the few references it lists.

No customer data is ever selected: the lists carry the ticket reference, its
kind, the clock, the due instant and the assignee's staff login, nothing else.

Clock semantics follow app.sla_clocks exactly (governing_clock,
ticket_sla_state): the state of an open ticket's governing clock, frozen while
the ticket waits on the customer; at risk when less than `at_risk_share` of
the clock's length is left.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from functools import lru_cache

from sqlalchemy import Float, and_, bindparam, case, func, literal, null, or_, select, union_all
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from app.business_calendar import BusinessCalendar
from models import Message, Quarantine, Staff, Ticket
from models.enums import Clock, DeliveryState, MessageKind, QuarantineState, TicketKind, TicketStatus

TREND_DAYS = 30
NEXT_DEADLINES = 10
BREACHED_LIST_LIMIT = 200  # the breached tile has the full count
OUTBOX_GRACE = timedelta(minutes=5)  # a queued message this long past its attempt time is stuck

_CLOSED = TicketStatus.CLOSED.value


# -- the figures ---------------------------------------------------------------
@dataclass(frozen=True)
class Share:
    """Clocks met out of the clocks that stopped or breached in a period."""

    met: int = 0
    total: int = 0

    @property
    def percent(self) -> float | None:
        return None if self.total == 0 else 100.0 * self.met / self.total

    def __add__(self, other: "Share") -> "Share":
        return Share(self.met + other.met, self.total + other.total)


@dataclass(frozen=True)
class ComplianceRow:
    key: str  # acknowledgment, resolution, resolution_extended, final_response, refund_review
    label: str
    promise: str  # the policy's promise, e.g. "2 business days"
    today: Share
    week: Share
    month: Share  # the last 30 days, today included


@dataclass(frozen=True)
class DeadlineRow:
    reference: str
    kind: str
    clock: str
    due: datetime  # UTC
    assignee: str | None  # staff login


@dataclass(frozen=True)
class AgentLoad:
    login: str | None  # None: unassigned
    name: str
    open: int
    at_risk: int
    breached: int


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: int
    alarm: bool  # non-zero is bad news


TILE_LABELS: dict[str, str] = {
    "open_complaints": "Open complaints",
    "acks_due_today": "Acks due today",
    "breached_now": "Breached now",
    "at_risk": "At risk",
    "escalations_awaiting_senior": "Escalations w/o senior",
    "refunds_awaiting_decision": "Refunds to decide",
    "refunds_processing": "Refunds processing",
    "quarantined_mail": "Quarantined mail",
    "undelivered_mail": "Undelivered mail",
}
ALARM_TILES = frozenset({"breached_now", "at_risk", "escalations_awaiting_senior", "quarantined_mail", "undelivered_mail"})


@dataclass(frozen=True)
class DashboardData:
    now: datetime
    today: date  # the desk-local date of `now`
    open_total: int = 0
    open_complaints: int = 0
    acks_due_today: int = 0
    breached_now: int = 0
    at_risk: int = 0
    escalations_awaiting_senior: int = 0
    refunds_awaiting_decision: int = 0
    refunds_processing: int = 0
    extended_open: int = 0  # open complaints whose resolution deadline was extended
    quarantined_mail: int = 0
    outbound_failed: int = 0
    outbound_stuck: int = 0  # queued, past its attempt time by more than OUTBOX_GRACE
    compliance: tuple[ComplianceRow, ...] = ()
    next_deadlines: tuple[DeadlineRow, ...] = ()
    breached: tuple[DeadlineRow, ...] = ()  # oldest first, at most BREACHED_LIST_LIMIT
    agents: tuple[AgentLoad, ...] = ()
    trend_days: tuple[date, ...] = ()
    received_per_day: tuple[int, ...] = ()
    closed_per_day: tuple[int, ...] = ()
    breaches_per_day: tuple[int, ...] = ()
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def undelivered_mail(self) -> int:
        return self.outbound_failed + self.outbound_stuck

    def tiles(self) -> list[Tile]:
        """The big-number tiles in display order (most urgent first)."""
        order = ("breached_now", "at_risk", "acks_due_today", "open_complaints", "escalations_awaiting_senior",
                 "refunds_awaiting_decision", "refunds_processing", "undelivered_mail", "quarantined_mail")
        return [Tile(k, TILE_LABELS[k], int(getattr(self, k)), k in ALARM_TILES) for k in order]


# -- SQL building blocks -------------------------------------------------------
def _epoch(expr, dialect: str):
    """Seconds since 1970 of a stored instant (SQLite keeps naive UTC text)."""
    if dialect == "sqlite":
        return (func.julianday(expr) - 2440587.5) * 86400.0
    return func.extract("epoch", expr)


def _running_clock() -> tuple[ColumnElement, ColumnElement, ColumnElement]:
    """(running, start, due) of an open ticket's governing clock in SQL.

    `Ticket.due_at`/`due_clock` hold the governing clock's deadline (kept by
    the workflow, see app.workflow.guard.refresh_due); a clock that has
    stopped (resolution communicated, final response sent, inquiry
    acknowledged) is not running even if a stale due_at was left behind.
    The start follows app.sla_clocks.governing_clock.
    """
    k = Ticket.kind
    stopped = or_(
        and_(k == TicketKind.COMPLAINT.value, Ticket.acknowledged_at.is_not(None), Ticket.resolution_communicated_at.is_not(None)),
        and_(k == TicketKind.ESCALATION.value, Ticket.final_response_at.is_not(None)),
        and_(k == TicketKind.INQUIRY.value, Ticket.acknowledged_at.is_not(None)),
    )
    start = case(
        (Ticket.due_clock == Clock.RESOLUTION.value, Ticket.acknowledged_at),
        (Ticket.due_clock == Clock.REFUND_INITIATION.value, Ticket.decided_at),
        else_=Ticket.received_at,
    )
    running = and_(Ticket.due_at.is_not(None), start.is_not(None), ~stopped)
    return running, start, Ticket.due_at


def _overdue(due, paused, now: datetime) -> ColumnElement:
    """A running clock is past `due` at `now`, or at the pause if it began earlier."""
    paused_before = and_(paused.is_not(None), paused < now)
    return or_(and_(paused_before, due < paused), and_(~paused_before, due < now))


def _day_bounds(cal: BusinessCalendar, today: date, days: int) -> list[datetime]:
    """Local midnights from `days - 1` days ago to tomorrow, as instants."""
    return [datetime.combine(today - timedelta(days=days - 1 - i), time(0), tzinfo=cal.tz) for i in range(days + 1)]


def _bucket(expr, bounds: Sequence[datetime]) -> ColumnElement:
    """Index i of the local day with bounds[i] <= expr < bounds[i + 1], else
    NULL: a binary search in nested CASEs (a handful of comparisons a row)."""

    def node(lo: int, hi: int):
        if hi - lo == 1:
            return literal(lo)
        mid = (lo + hi) // 2
        return case((expr < bounds[mid], node(lo, mid)), else_=node(mid, hi))

    return case((expr.is_(None), null()), (or_(expr < bounds[0], expr >= bounds[-1]), null()), else_=node(0, len(bounds) - 1))


def _sum(cond) -> ColumnElement:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


# -- the clocks judged for compliance ------------------------------------------
@dataclass(frozen=True)
class _JudgedClock:
    key: str
    label: str
    promise: str
    kind: str
    due: object
    stopped: object  # SQL expression
    where: object | None = None


def _judged_clocks() -> list[_JudgedClock]:
    c = TicketKind.COMPLAINT.value
    return [
        _JudgedClock("acknowledgment", "Acknowledgment", "2 business days", c, Ticket.ack_due_at,
                     func.coalesce(Ticket.acknowledged_at, Ticket.closed_at)),
        _JudgedClock("resolution", "Resolution", "10 business days", c, Ticket.resolution_due_at,
                     func.coalesce(Ticket.resolution_communicated_at, Ticket.closed_at), Ticket.acknowledged_at.is_not(None)),
        _JudgedClock("final_response", "Escalation final resp.", "5 business days", TicketKind.ESCALATION.value,
                     Ticket.final_response_due_at, func.coalesce(Ticket.final_response_at, Ticket.closed_at)),
        _JudgedClock("refund_review", "Refund review", "3 business days", TicketKind.REFUND.value, Ticket.review_due_at,
                     func.coalesce(Ticket.decided_at, Ticket.closed_at)),
    ]


# -- the statements (built once per dialect and share, then reused) -------------
_DT = Ticket.__table__.c.received_at.type


def _p(name: str):
    return bindparam(name, type_=_DT)


@lru_cache(maxsize=8)
def _statements(dialect: str, at_risk_share: float) -> dict:
    """Every query of the snapshot, with bind parameters for the instants
    (`now`, `now_e`, `b0`..`bN`, `outbox_cutoff`): built once, so SQLAlchemy's
    compiled cache is hit on every refresh."""
    now = _p("now")
    bounds = [_p(f"b{i}") for i in range(TREND_DAYS + 1)]
    today_start, tomorrow_start = bounds[-2], bounds[-1]

    # Tiles: one pass over the open tickets, one row out (no GROUP BY: a
    # sorter over tens of thousands of rows costs more than the sums).
    running, start, due = _running_clock()
    is_open = Ticket.status != _CLOSED
    overdue = _overdue(due, Ticket.paused_since, now)
    paused_before = and_(Ticket.paused_since.is_not(None), Ticket.paused_since < now)
    eff_now_e = case((paused_before, _epoch(Ticket.paused_since, dialect)), else_=bindparam("now_e", type_=Float()))
    due_e, start_e = _epoch(due, dialect), _epoch(start, dialect)
    kind = Ticket.kind
    out: dict = {}
    out["tiles"] = select(
        func.count(),
        _sum(kind == TicketKind.COMPLAINT.value),
        _sum(and_(kind == TicketKind.COMPLAINT.value, Ticket.acknowledged_at.is_(None),
                  Ticket.ack_due_at >= today_start, Ticket.ack_due_at < tomorrow_start)),
        _sum(and_(kind == TicketKind.ESCALATION.value, Ticket.reviewer_id.is_(None))),
        _sum(and_(kind == TicketKind.REFUND.value, Ticket.decided_at.is_(None))),
        _sum(and_(kind == TicketKind.REFUND.value, Ticket.status == TicketStatus.PROCESSING.value)),
        _sum(and_(kind == TicketKind.COMPLAINT.value, Ticket.extensions > 0)),
    ).where(is_open)
    # Per-agent load and the at-risk/breached totals: the clock state of each
    # open ticket (0 none or on track, 1 at risk, 2 breached), grouped by
    # assignee and state (a small sort key; the CASE stops at the first match,
    # so the date arithmetic runs only for running clocks not yet overdue).
    state = case(
        (~running, 0),
        (overdue, 2),
        ((due_e - eff_now_e) < (due_e - start_e) * at_risk_share, 1),
        else_=0,
    ).label("state")
    out["agents"] = select(Ticket.assignee_id, state, func.count()).where(is_open).group_by(Ticket.assignee_id, state)
    cols = (Ticket.reference, Ticket.kind, Ticket.due_clock, due, Ticket.assignee_id)
    upcoming_q = select(*cols, literal(0).label("part")).where(is_open, running, ~overdue).order_by(due, Ticket.reference).limit(NEXT_DEADLINES)
    overdue_q = select(*cols, literal(1).label("part")).where(is_open, running, overdue, due < now).order_by(due, Ticket.reference).limit(BREACHED_LIST_LIMIT)
    out["lists"] = union_all(upcoming_q.subquery().select(), overdue_q.subquery().select())

    # Compliance and breaches per day. One scan of the ticket table: slot "a"
    # is each kind's first judged clock (complaint ack, escalation final
    # response, refund review), slot "b" a complaint's resolution clock.
    # Only open tickets and tickets closed in the window can have a clock
    # that stopped or came due in it (every stop is at or before closing).
    kind_is = {k: Ticket.kind == k for k in (TicketKind.COMPLAINT.value, TicketKind.ESCALATION.value, TicketKind.REFUND.value)}
    clocks = _judged_clocks()
    slot_a = [jc for jc in clocks if jc.where is None]
    res = next(jc for jc in clocks if jc.where is not None)
    b_cond = and_(kind_is[res.kind], res.where)
    base = select(
        case(*[(kind_is[jc.kind], literal(jc.key)) for jc in slot_a]).label("a_k"),
        case(*[(kind_is[jc.kind], jc.due) for jc in slot_a]).label("a_due"),
        case(*[(kind_is[jc.kind], jc.stopped) for jc in slot_a]).label("a_stop"),
        case((b_cond, res.due)).label("b_due"),
        case((b_cond, res.stopped)).label("b_stop"),
        Ticket.paused_since.label("paused"), case((Ticket.extensions > 0, 1), else_=0).label("ext"),
    ).where(or_(Ticket.status != _CLOSED, Ticket.closed_at >= bounds[0])).cte("judged_base").prefix_with("MATERIALIZED")
    jb = base.c

    def _slot(key, due_col, stop_col):
        return select(key.label("k"), due_col.label("due"), stop_col.label("stop"), jb.paused.label("paused"), jb.ext.label("ext")).where(
            due_col.is_not(None), or_(and_(stop_col >= bounds[0], stop_col <= now), and_(due_col >= bounds[0], due_col < now)))

    judged = union_all(_slot(jb.a_k, jb.a_due, jb.a_stop), _slot(literal(res.key), jb.b_due, jb.b_stop)).cte("judged").prefix_with("MATERIALIZED")
    j = judged.c
    j_over = and_(j.stop.is_(None), _overdue(j.due, j.paused, now))
    events = select(
        j.k, j.ext,
        case((j.stop.is_not(None), j.stop), (j_over, j.due), else_=None).label("ev"),
        case((j.due < now, j.due), else_=None).label("due_past"),
        case((and_(j.stop.is_not(None), j.stop <= j.due), 1), else_=0).label("met"),
        case((or_(and_(j.stop.is_not(None), j.stop > j.due), j_over), 1), else_=0).label("breach"),
    ).cte("events").prefix_with("MATERIALIZED")
    e = events.c
    ev_b = _bucket(case((e.ev <= now, e.ev), else_=None), bounds).label("ev_b")
    due_b = _bucket(e.due_past, bounds).label("due_b")
    out["compliance"] = select(e.k, e.ext, ev_b, due_b, e.met, e.breach, func.count()).group_by(e.k, e.ext, "ev_b", "due_b", e.met, e.breach)

    for name, col in (("received", Ticket.received_at), ("closed", Ticket.closed_at)):
        b = _bucket(col, bounds).label("b")
        out[name] = select(b, func.count()).where(col >= bounds[0], col <= now).group_by("b")

    out["quarantined"] = select(func.count()).select_from(Quarantine).where(Quarantine.state == QuarantineState.HELD.value)
    out["mail"] = select(
        _sum(Message.delivery == DeliveryState.FAILED.value),
        _sum(and_(Message.delivery == DeliveryState.QUEUED.value,
                  func.coalesce(Message.next_attempt_at, Message.created_at) < _p("outbox_cutoff"))),
    ).where(Message.kind == MessageKind.OUTBOUND.value,
            Message.delivery.in_((DeliveryState.FAILED.value, DeliveryState.QUEUED.value)))
    return out


def _period_figures(session: Session, q: dict, params: dict, days: tuple[date, ...], week_start_day: date):
    """(compliance rows, breaches per day, {received, closed} per day)."""
    # 3. compliance and breaches per day
    shares: dict[tuple[str, bool], list[Share]] = {}
    breaches = [0] * TREND_DAYS
    for key, ext, ev_i, due_i, is_met, is_breach, n in session.execute(q["compliance"], params):
        split = (key, bool(ext) and key == "resolution")
        per_day = shares.setdefault(split, [Share()] * TREND_DAYS)
        if ev_i is not None:
            per_day[int(ev_i)] = per_day[int(ev_i)] + Share(int(n) if is_met else 0, int(n))
        if is_breach and due_i is not None:
            breaches[int(due_i)] += int(n)
    compliance: list[ComplianceRow] = []
    week_idx = [i for i, d in enumerate(days) if d >= week_start_day]
    for jc in _judged_clocks():
        variants = [(False, jc.key, jc.label, jc.promise)]
        if jc.key == "resolution":
            variants.append((True, "resolution_extended", "Resolution, extended", "extended with reason"))
        for ext, key, label, promise in variants:
            per_day = shares.get((jc.key, ext), [Share()] * TREND_DAYS)
            compliance.append(ComplianceRow(
                key, label, promise,
                today=per_day[-1],
                week=sum((per_day[i] for i in week_idx), Share()),
                month=sum(per_day, Share()),
            ))

    # 4. received and closed per day
    per_day_counts: dict[str, list[int]] = {}
    for name in ("received", "closed"):
        counts = [0] * TREND_DAYS
        for i, n in session.execute(q[name], params):
            if i is not None:
                counts[int(i)] += int(n)
        per_day_counts[name] = counts

    return tuple(compliance), tuple(breaches), per_day_counts


class PeriodCache:
    """Keeps the 30-day figures for `max_age` seconds between snapshots (the
    wall display passes one; without it every snapshot computes them)."""

    def __init__(self, max_age: float = 60.0) -> None:
        self.max_age = max_age
        self._key: tuple | None = None
        self._value = None
        self._at = 0.0

    def get(self, key: tuple):
        import time as _time

        if self._key == key and _time.monotonic() - self._at < self.max_age:
            return self._value
        return None

    def put(self, key: tuple, value) -> None:
        import time as _time

        self._key, self._value, self._at = key, value, _time.monotonic()

    def clear(self) -> None:
        self._key = self._value = None


# -- the snapshot --------------------------------------------------------------
def snapshot(session: Session, now: datetime, cal: BusinessCalendar, at_risk_share: float = 0.25,
             cache: PeriodCache | None = None) -> DashboardData:
    """Every figure of the wall display at `now` (aware), read-only.

    With a `cache`, the 30-day figures (compliance, trends) are recomputed at
    most every `cache.max_age` seconds (and whenever the local day changes);
    the tiles, lists and agent load are always live."""
    import time as _time

    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    q = _statements(session.get_bind().dialect.name, float(at_risk_share))
    timings: dict[str, float] = {}
    t0 = _time.perf_counter()
    today = cal.local_date(now)
    bounds = _day_bounds(cal, today, TREND_DAYS)
    params = {"now": now, "now_e": now.timestamp(), "outbox_cutoff": now - OUTBOX_GRACE}
    params.update({f"b{i}": b for i, b in enumerate(bounds)})
    week_start_day = today - timedelta(days=today.weekday())
    days = tuple(today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS))

    # 1. tiles and per-agent load
    (open_total, open_complaints, acks_today, esc_waiting, refunds_waiting,
     refunds_processing, extended_open) = (int(v or 0) for v in session.execute(q["tiles"], params).one())
    per_agent: dict[int | None, list[int]] = {}
    for assignee_id, st, n in session.execute(q["agents"], params):
        counts = per_agent.setdefault(assignee_id, [0, 0, 0])
        counts[0] += int(n)
        if st:
            counts[int(st)] += int(n)
    loads = [(a, n, r, b) for a, (n, r, b) in per_agent.items()]
    at_risk_n = sum(r for _a, _n, r, _b in loads)
    breached_n = sum(b for _a, _n, _r, b in loads)
    timings["tiles"] = _time.perf_counter() - t0

    # 2. the lists: next deadlines and breached clocks (no customer columns)
    t1 = _time.perf_counter()
    listed = session.execute(q["lists"], params).all()
    ids = {a for a, *_ in loads if a is not None} | {r[4] for r in listed if r[4] is not None}
    staff = {s_id: (login, name) for s_id, login, name in
             session.execute(select(Staff.id, Staff.login, Staff.name).where(Staff.id.in_(sorted(ids))))} if ids else {}
    timings["lists"] = _time.perf_counter() - t1
    agents = sorted(
        (AgentLoad(staff.get(a, (None, "?"))[0] if a is not None else None,
                   staff.get(a, (None, "?"))[1] if a is not None else "(unassigned)", n, r, b) for a, n, r, b in loads),
        key=lambda x: (-x.breached, -x.at_risk, -x.open, x.login or "~"),
    )

    def _row(r) -> DeadlineRow:
        return DeadlineRow(r[0], r[1], r[2], _aware(r[3]), staff.get(r[4], (None, ""))[0] if r[4] is not None else None)

    upcoming = sorted((_row(r) for r in listed if r[5] == 0), key=lambda d: (d.due, d.reference))
    overdue_rows = sorted((_row(r) for r in listed if r[5] == 1), key=lambda d: (d.due, d.reference))

    # 3-4. the 30-day figures (compliance, trends), reused from `cache`
    # while it is fresh: they move slowly and cost the most
    t2 = _time.perf_counter()
    period_key = (today, float(at_risk_share), cal.key(), session.get_bind().url.render_as_string(hide_password=True))
    period = cache.get(period_key) if cache is not None else None
    if period is None:
        period = _period_figures(session, q, params, days, week_start_day)
        if cache is not None:
            cache.put(period_key, period)
    compliance, breaches, per_day_counts = period
    timings["period"] = _time.perf_counter() - t2

    # 5. mail
    t4 = _time.perf_counter()
    quarantined = session.scalar(q["quarantined"]) or 0
    failed, stuck = session.execute(q["mail"], params).one()
    timings["mail"] = _time.perf_counter() - t4
    timings["total"] = _time.perf_counter() - t0

    return DashboardData(
        now=now,
        today=today,
        open_total=open_total,
        open_complaints=open_complaints,
        acks_due_today=acks_today,
        breached_now=breached_n,
        at_risk=at_risk_n,
        escalations_awaiting_senior=esc_waiting,
        refunds_awaiting_decision=refunds_waiting,
        refunds_processing=refunds_processing,
        extended_open=extended_open,
        quarantined_mail=int(quarantined),
        outbound_failed=int(failed or 0),
        outbound_stuck=int(stuck or 0),
        compliance=compliance,
        next_deadlines=tuple(upcoming),
        breached=tuple(overdue_rows),
        agents=tuple(agents),
        trend_days=days,
        received_per_day=tuple(per_day_counts["received"]),
        closed_per_day=tuple(per_day_counts["closed"]),
        breaches_per_day=breaches,
        timings=timings,
    )


def _aware(dt: datetime) -> datetime:
    from datetime import timezone

    if isinstance(dt, str):  # a CASE over datetimes may come back as text on SQLite
        dt = datetime.fromisoformat(dt)
    return dt if dt.utcoffset() is not None else dt.replace(tzinfo=timezone.utc)


__all__ = ["AgentLoad", "ComplianceRow", "DashboardData", "DeadlineRow", "PeriodCache", "Share", "Tile", "snapshot"]
