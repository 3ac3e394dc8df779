"""The wall display's figures, computed by SQL aggregates (no Textual).

`snapshot()` answers everything the supervisors' dashboard shows with a
handful of queries (app.dashboard_queries), so it never loads ticket rows,
only counts and the few references it lists. No figure grows with the
desk: the time-independent counts are kept as they change (app.wall_tally),
breached, at risk and acks due today are index ranges (app.wall_ranges),
and the 30-day figures (compliance, received, closed, breaches per day) are
sums of the hours kept by app.wall_daily plus a live count of the current
hour. The figures are values of app.dashboard_figures.

No customer data is ever selected: the lists carry the ticket reference, its
kind, the clock, the due instant, the pause and the assignee's staff login.

Clock semantics are app.clocks' (the same rules as the queue, the ticket
header and the export): the state of an open ticket's governing clock, frozen
while the ticket waits on the customer; at risk when less than
`at_risk_share` of the clock's length is left.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app import clocks, wall_daily
from app.business_calendar import BusinessCalendar
from app.dashboard_figures import (
    ALARM_TILES,
    TILE_LABELS,
    AgentLoad,
    ComplianceRow,
    DashboardData,
    DeadlineRow,
    Share,
    Tile,
)
from app.dashboard_queries import (
    BREACHED_LIST_LIMIT,
    NEXT_DEADLINES,
    TREND_DAYS,
    Statements,
    day_bounds,
    statements,
)
from models import Staff, table_of

OUTBOX_GRACE = timedelta(minutes=5)  # a queued message this long past its attempt time is stuck


Shares = dict[tuple[str, bool], list[Share]]  # per (judged clock, extended resolution): a Share a day
Period = tuple[tuple[ComplianceRow, ...], tuple[int, ...], dict[str, list[int]]]


def _by_statement(session: Session, q: Statements, params: dict[str, Any]) -> tuple[Shares, list[int]]:
    """(shares, breaches per day) from one scan of the open tickets and those
    closed in the window (a calendar whose midnights are off the UTC hour;
    the tests' oracle for the kept figures)."""
    shares: Shares = {}
    breaches = [0] * TREND_DAYS
    for key, ext, ev_i, due_i, is_met, is_breach, n in session.execute(q["compliance"], params):
        split = (str(key), bool(ext) and key == "resolution")
        per_day = shares.setdefault(split, [Share()] * TREND_DAYS)
        if ev_i is not None:
            per_day[int(ev_i)] = per_day[int(ev_i)] + Share(int(n) if is_met else 0, int(n))
        if is_breach and due_i is not None:
            breaches[int(due_i)] += int(n)
    return shares, breaches


def _kept(session: Session, q: Statements, params: dict[str, Any]) -> tuple[Shares, list[int], dict[str, list[int]]]:
    """(shares, breaches per day, {received, closed} per day) from the kept
    hours (app.wall_daily) and the current hour's live remainder."""
    per: dict[str, list[int]] = {}
    for figure, d, n in session.execute(q["daily"], params):
        if d is not None:
            per.setdefault(str(figure), [0] * TREND_DAYS)[int(d)] += int(n or 0)
    for figure, n in session.execute(q["daily_live"], params):
        per.setdefault(str(figure), [0] * TREND_DAYS)[-1] += int(n or 0)
    zero = [0] * TREND_DAYS
    shares: Shares = {}
    breaches = [0] * TREND_DAYS
    for j in wall_daily.judged():
        met, late, late_due, over = (per.get(f"{j.key}:{o}", zero) for o in wall_daily.OUTCOMES)
        split = (j.clock.key, j.key == wall_daily.EXTENDED_KEY)
        shares[split] = [Share(met[i], met[i] + late[i] + over[i]) for i in range(TREND_DAYS)]
        breaches = [b + late_due[i] + over[i] for i, b in enumerate(breaches)]
    counts = {name: per.get(name, zero) for name in (wall_daily.RECEIVED, wall_daily.CLOSED)}
    return shares, breaches, counts


def _compliance_rows(shares: Shares, days: tuple[date, ...], week_start_day: date) -> tuple[ComplianceRow, ...]:
    compliance: list[ComplianceRow] = []
    week_idx = [i for i, d in enumerate(days) if d >= week_start_day]
    for jc in clocks.judged_clocks():
        variants = [(False, jc.key, jc.label, jc.promise)]
        if jc.key == "resolution":
            variants.append((True, "resolution_extended", "Resolution, extended", "extended with reason"))
        for ext, key, label, promise in variants:
            per_day = shares.get((jc.key, ext), [Share()] * TREND_DAYS)
            compliance.append(
                ComplianceRow(
                    key,
                    label,
                    promise,
                    today=per_day[-1],
                    week=sum((per_day[i] for i in week_idx), Share()),
                    month=sum(per_day, Share()),
                )
            )
    return tuple(compliance)


def _period_figures(
    session: Session, q: Statements, params: dict[str, Any], days: tuple[date, ...], kept: bool
) -> Period:
    """(compliance rows, breaches per day, {received, closed} per day): from
    the kept hours when every local midnight is on a UTC hour, else by the
    full statement."""
    week_start_day = days[-1] - timedelta(days=days[-1].weekday())
    if kept:
        shares, breaches, counts = _kept(session, q, params)
    else:
        shares, breaches = _by_statement(session, q, params)
        counts = {
            name: [int(n or 0) for n in session.execute(q[name], params).one()] for name in ("received", "closed")
        }
    return _compliance_rows(shares, days, week_start_day), tuple(breaches), counts


class PeriodCache:
    """Keeps the 30-day figures for `max_age` seconds between snapshots (the
    wall display passes one; without it every snapshot computes them)."""

    def __init__(self, max_age: float = 60.0) -> None:
        self.max_age = max_age
        self._key: tuple[object, ...] | None = None
        self._value: Period | None = None
        self._at = 0.0

    def get(self, key: tuple[object, ...]) -> Period | None:
        if self._key == key and _time.monotonic() - self._at < self.max_age:
            return self._value
        return None

    def put(self, key: tuple[object, ...], value: Period) -> None:
        self._key, self._value, self._at = key, value, _time.monotonic()

    def clear(self) -> None:
        self._key = self._value = None


def _aware(dt: object) -> datetime | None:
    if dt is None:
        return None
    if isinstance(dt, str):  # a CASE over datetimes may come back as text on SQLite
        dt = datetime.fromisoformat(dt)
    if not isinstance(dt, datetime):
        raise TypeError(f"not an instant: {dt!r}")
    return dt if dt.utcoffset() is not None else dt.replace(tzinfo=UTC)


def _due(dt: object) -> datetime:
    """A listed clock's due instant (the lists hold only clocks with one)."""
    out = _aware(dt)
    if out is None:
        raise ValueError("a listed clock has no due instant")
    return out


Loads = list[tuple[int | None, int, int, int]]  # (assignee, open, at risk, breached)
StaffNames = dict[int, tuple[str, str]]  # id: (login, name)
Listed = list[tuple[Any, ...]]  # the lists' rows (app.dashboard_queries "lists")


def _live_figures(
    session: Session, q: Statements, params: dict[str, Any]
) -> tuple[list[int], Loads, Listed, StaffNames]:
    """(tile counts, per-agent (assignee, open, at risk, breached), listed rows, staff by id)."""
    per_agent: dict[int | None, list[int]] = {}
    tiles = [0] * 7  # open, complaints, acks due today, escalations w/o senior, to decide, processing, extended
    for key, n, complaints, *rest in session.execute(q["tally"]):
        per_agent[int(key) or None] = [int(n), 0, 0]
        for i, v in enumerate((n, complaints, 0, *rest)):
            tiles[i] += int(v)
    tiles[2] = int(session.scalar(q["acks"], params) or 0)
    for key, st, n in session.execute(q["load"], params):
        per_agent.setdefault(int(key) or None, [0, 0, 0])[int(st)] += int(n)
    loads: Loads = [(a, n, r, b) for a, (n, r, b) in per_agent.items()]
    listed: Listed = [tuple(r) for r in session.execute(q["lists"], params)]
    ids = {a for a, *_ in loads if a is not None} | {int(r[4]) for r in listed if r[4] is not None}
    st = table_of(Staff).c
    staff: StaffNames = (
        {
            int(s_id): (str(login), str(name))
            for s_id, login, name in session.execute(select(st.id, st.login, st.name).where(st.id.in_(sorted(ids))))
        }
        if ids
        else {}
    )
    return tiles, loads, listed, staff


def _agents(loads: Loads, staff: StaffNames) -> tuple[AgentLoad, ...]:
    return tuple(
        sorted(
            (
                AgentLoad(
                    staff[a][0] if a in staff else None,
                    staff[a][1] if a in staff else "?" if a is not None else "(unassigned)",
                    n,
                    r,
                    b,
                )
                for a, n, r, b in loads
            ),
            key=lambda x: (-x.breached, -x.at_risk, -x.open, x.login or "~"),
        )
    )


def _deadlines(listed: Listed, staff: StaffNames, part: int) -> tuple[DeadlineRow, ...]:
    rows = (
        DeadlineRow(
            str(r[0]),
            str(r[1]),
            str(r[2]),
            _due(r[3]),
            staff[r[4]][0] if r[4] in staff else None,
            _aware(r[6]),
            _aware(r[7]),
        )
        for r in listed
        if r[5] == part
    )
    return tuple(sorted(rows, key=lambda d: (d.due, d.reference)))[
        : NEXT_DEADLINES if part == 0 else BREACHED_LIST_LIMIT
    ]


def params_at(cal: BusinessCalendar, now: datetime) -> tuple[dict[str, Any], bool]:
    """The statements' parameters at `now`, and whether every local midnight
    of the window is on a UTC hour (the kept hours can be summed by day)."""
    bounds = day_bounds(cal, cal.local_date(now), TREND_DAYS)
    h_now = wall_daily.hour_of(now)
    params: dict[str, Any] = {"now": now, "outbox_cutoff": now - OUTBOX_GRACE}
    params.update({f"b{i}": b for i, b in enumerate(bounds)})
    params.update({f"h{i}": wall_daily.hour_of(b) for i, b in enumerate(bounds)})
    params.update(h_now=h_now, hour_start=datetime.fromtimestamp(h_now * 3600, UTC))
    return params, all(b.timestamp() % 3600 == 0 for b in bounds)


def snapshot(
    session: Session,
    now: datetime,
    cal: BusinessCalendar,
    at_risk_share: float = 0.25,
    cache: PeriodCache | None = None,
    by_kept_hours: bool = True,
) -> DashboardData:
    """Every figure of the wall display at `now` (aware), read-only.

    With a `cache`, the 30-day figures (compliance, trends) are recomputed at
    most every `cache.max_age` seconds (and whenever the local day changes);
    the tiles, lists and agent load are always live. The 30-day figures come
    from the hours kept by app.wall_daily; `by_kept_hours=False` computes them
    by the full statement instead (the tests' oracle)."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    q = statements(session.get_bind().dialect.name, float(at_risk_share))
    timings: dict[str, float] = {}
    t0 = _time.perf_counter()
    today = cal.local_date(now)
    params, on_the_hour = params_at(cal, now)
    kept = by_kept_hours and on_the_hour
    days = tuple(today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS))

    tiles, loads, listed, staff = _live_figures(session, q, params)
    timings["live"] = _time.perf_counter() - t0

    # the 30-day figures (compliance, trends), reused from `cache` while it
    # is fresh: they move slowly and cost the most
    t2 = _time.perf_counter()
    period_key = (
        today,
        kept,
        float(at_risk_share),
        cal.key(),
        session.get_bind().engine.url.render_as_string(hide_password=True),
    )
    period = cache.get(period_key) if cache is not None else None
    if period is None:
        period = _period_figures(session, q, params, days, kept)
        if cache is not None:
            cache.put(period_key, period)
    compliance, breaches, per_day_counts = period
    timings["period"] = _time.perf_counter() - t2

    t4 = _time.perf_counter()
    quarantined = session.scalar(q["quarantined"]) or 0
    failed, stuck = session.execute(q["mail"], params).one()
    timings["mail"] = _time.perf_counter() - t4
    timings["total"] = _time.perf_counter() - t0

    open_total, open_complaints, acks_today, esc_waiting, refunds_waiting, refunds_processing, extended_open = tiles
    return DashboardData(
        now=now,
        today=today,
        open_total=open_total,
        open_complaints=open_complaints,
        acks_due_today=acks_today,
        breached_now=sum(b for *_x, b in loads),
        at_risk=sum(r for _a, _n, r, _b in loads),
        escalations_awaiting_senior=esc_waiting,
        refunds_awaiting_decision=refunds_waiting,
        refunds_processing=refunds_processing,
        extended_open=extended_open,
        quarantined_mail=int(quarantined),
        outbound_failed=int(failed or 0),
        outbound_stuck=int(stuck or 0),
        compliance=compliance,
        next_deadlines=_deadlines(listed, staff, 0),
        breached=_deadlines(listed, staff, 1),
        agents=_agents(loads, staff),
        trend_days=days,
        received_per_day=tuple(per_day_counts["received"]),
        closed_per_day=tuple(per_day_counts["closed"]),
        breaches_per_day=breaches,
        timings=timings,
    )


__all__ = [
    "ALARM_TILES",
    "BREACHED_LIST_LIMIT",
    "NEXT_DEADLINES",
    "OUTBOX_GRACE",
    "TILE_LABELS",
    "TREND_DAYS",
    "AgentLoad",
    "ComplianceRow",
    "DashboardData",
    "DeadlineRow",
    "PeriodCache",
    "Share",
    "Tile",
    "snapshot",
]
