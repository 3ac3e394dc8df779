"""app.dashboard_data.snapshot(): figures checked against counts computed
independently from the export (app.export.iter_tickets) over the frozen demo
desk; no customer column is ever read; memory stays flat over many refreshes."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import event, func, select

from app.business_calendar import BusinessCalendar
from app.dashboard_data import BREACHED_LIST_LIMIT, NEXT_DEADLINES, TREND_DAYS, Share, snapshot
from app.export import iter_tickets
from app.workflow.guard import refresh_due
from conftest import FROZEN_NOW
from models import Message, Quarantine, Ticket

CAL = BusinessCalendar("EE", None, "Europe/Tallinn")


def _dt(value):
    return datetime.fromisoformat(value) if value else None


@pytest.fixture
def figures(demo_desk):
    with demo_desk.reader() as s:
        data = snapshot(s, FROZEN_NOW, CAL, 0.25)
        rows = list(iter_tickets(s, now=FROZEN_NOW, at_risk_share=0.25))
    return data, rows


def test_tiles_match_the_export(figures, demo_desk):
    data, rows = figures
    open_rows = [r for r in rows if r["status"] != "closed"]
    today = CAL.local_date(FROZEN_NOW)
    assert data.open_total == len(open_rows)
    assert data.open_complaints == sum(r["kind"] == "complaint" for r in open_rows)
    assert data.breached_now == sum(r["sla_state"] == "breached" for r in open_rows)
    assert data.at_risk == sum(r["sla_state"] == "at_risk" for r in open_rows)
    assert data.acks_due_today == sum(
        r["kind"] == "complaint"
        and r["acknowledged_at"] is None
        and r["ack_due_at"] is not None
        and CAL.local_date(_dt(r["ack_due_at"])) == today
        for r in open_rows
    )
    assert data.escalations_awaiting_senior == sum(
        r["kind"] == "escalation" and r["reviewer"] is None for r in open_rows
    )
    assert data.refunds_awaiting_decision == sum(
        r["kind"] == "refund" and r["status"] in ("submitted", "under_review") for r in open_rows
    )
    assert data.refunds_processing == sum(r["kind"] == "refund" and r["status"] == "processing" for r in open_rows)
    assert data.extended_open == sum(r["kind"] == "complaint" and r["extensions"] > 0 for r in open_rows)
    # the demo desk is built to have something on every alarm tile
    assert data.breached_now > 0 and data.at_risk > 0 and data.open_complaints > 0
    with demo_desk.reader() as s:
        held = s.scalar(select(func.count()).select_from(Quarantine).where(Quarantine.state == "held"))
        failed = s.scalar(
            select(func.count()).select_from(Message).where(Message.kind == "outbound", Message.delivery == "failed")
        )
    assert data.quarantined_mail == held > 0
    assert data.outbound_failed == failed > 0
    assert data.undelivered_mail == failed + data.outbound_stuck
    tiles = {t.key: t.value for t in data.tiles()}
    assert len(tiles) == 9 and tiles["breached_now"] == data.breached_now


def test_agent_load_matches_the_export(figures):
    data, rows = figures
    open_rows = [r for r in rows if r["status"] != "closed"]
    expected = Counter()
    for r in open_rows:
        expected[(r["assignee"], "open")] += 1
        if r["sla_state"] in ("at_risk", "breached"):
            expected[(r["assignee"], r["sla_state"])] += 1
    got = {a.login: a for a in data.agents}
    assert set(got) == {r["assignee"] for r in open_rows}
    for login, a in got.items():
        assert (a.open, a.at_risk, a.breached) == (
            expected[(login, "open")],
            expected[(login, "at_risk")],
            expected[(login, "breached")],
        ), login
    # the most breached come first
    assert [a.breached for a in data.agents] == sorted((a.breached for a in data.agents), reverse=True)


def test_lists_match_the_export(figures, demo_desk):
    data, rows = figures
    running = [r for r in rows if r["status"] != "closed" and r["sla_state"] in ("on_track", "at_risk")]
    running.sort(key=lambda r: (_dt(r["due_at"]), r["reference"]))
    assert [d.reference for d in data.next_deadlines] == [r["reference"] for r in running[:NEXT_DEADLINES]]
    with demo_desk.reader() as s:  # a clock waiting on the customer is judged at its pause: its due may be past
        waiting = set(s.scalars(select(Ticket.reference).where(Ticket.paused_since.is_not(None))))
    assert all(d.due >= FROZEN_NOW or d.reference in waiting for d in data.next_deadlines)
    breached = sorted(
        (r for r in rows if r["sla_state"] == "breached"), key=lambda r: (_dt(r["due_at"]), r["reference"])
    )
    assert [d.reference for d in data.breached] == [r["reference"] for r in breached[:BREACHED_LIST_LIMIT]]
    assert all(d.due < FROZEN_NOW for d in data.breached)
    by_ref = {r["reference"]: r for r in rows}
    for d in data.breached + data.next_deadlines:
        assert d.assignee == by_ref[d.reference]["assignee"]
        assert d.clock == by_ref[d.reference]["due_clock"]


def test_trends_match_the_export(figures):
    data, rows = figures
    today = CAL.local_date(FROZEN_NOW)
    days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    assert list(data.trend_days) == days
    received = Counter(CAL.local_date(_dt(r["received_at"])) for r in rows)
    closed = Counter(CAL.local_date(_dt(r["closed_at"])) for r in rows if r["closed_at"])
    assert list(data.received_per_day) == [received[d] for d in days]
    assert list(data.closed_per_day) == [closed[d] for d in days]
    assert sum(data.received_per_day) > 0 and sum(data.closed_per_day) > 0


def test_acknowledgment_compliance_matches_the_export(figures):
    """Share met among ack clocks that stopped or breached in each period."""
    data, rows = figures
    today = CAL.local_date(FROZEN_NOW)
    starts = {
        "today": datetime.combine(today, time(0), tzinfo=CAL.tz),
        "week": datetime.combine(today - timedelta(days=today.weekday()), time(0), tzinfo=CAL.tz),
        "month": datetime.combine(today - timedelta(days=TREND_DAYS - 1), time(0), tzinfo=CAL.tz),
    }
    expected = {k: [0, 0] for k in starts}
    for r in rows:
        if r["kind"] != "complaint" or not r["ack_due_at"]:
            continue
        due = _dt(r["ack_due_at"])
        stop = _dt(r["acknowledged_at"]) or _dt(r["closed_at"])
        event_at = stop if stop else (due if due < FROZEN_NOW else None)
        for k, start in starts.items():
            if event_at is not None and start <= event_at <= FROZEN_NOW:
                expected[k][1] += 1
                expected[k][0] += bool(stop and stop <= due)
    row = next(c for c in data.compliance if c.key == "acknowledgment")
    assert (row.today.met, row.today.total) == tuple(expected["today"])
    assert (row.week.met, row.week.total) == tuple(expected["week"])
    assert (row.month.met, row.month.total) == tuple(expected["month"])
    assert row.month.total > row.month.met > 0  # the demo has late acknowledgments


def test_compliance_rows_and_extended_apart(figures):
    data, _rows = figures
    keys = [c.key for c in data.compliance]
    assert keys == ["acknowledgment", "resolution", "resolution_extended", "final_response", "refund_review"]
    for c in data.compliance:
        assert c.today.total <= c.week.total <= c.month.total
        assert 0 <= c.month.met <= c.month.total
    assert Share(3, 4).percent == 75.0 and Share().percent is None


def test_breaches_per_day_count_missed_clocks_by_due_day(demo_desk):
    """A complaint whose acknowledgment came after its due day shows up as a
    breach on that day; one acknowledged in time does not."""
    with demo_desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.kind == "complaint", Ticket.status == "submitted")).first()
        due = datetime.combine(CAL.local_date(FROZEN_NOW) - timedelta(days=3), time(23, 59, 59), tzinfo=CAL.tz)
    with demo_desk.reader() as s:
        before = snapshot(s, FROZEN_NOW, CAL)
    with demo_desk.session() as s:
        t = s.get(Ticket, t.id)
        t.ack_due_at = due.astimezone(UTC)
        t.received_at = (due - timedelta(days=2)).astimezone(UTC)
        refresh_due(t)  # as every workflow change does
    with demo_desk.reader() as s:
        after = snapshot(s, FROZEN_NOW, CAL)
    idx = TREND_DAYS - 1 - 3
    assert after.breaches_per_day[idx] == before.breaches_per_day[idx] + 1
    assert after.breached_now == before.breached_now + 1
    assert t.reference in [d.reference for d in after.breached]


def test_paused_clock_is_frozen_not_breached(demo_desk):
    with demo_desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.kind == "refund", Ticket.status == "under_review")).first()
        t.received_at = FROZEN_NOW - timedelta(days=10)
        t.review_due_at = FROZEN_NOW - timedelta(days=2)
        t.paused_since = FROZEN_NOW - timedelta(days=5)  # paused before the deadline
        refresh_due(t)
        ref = t.reference
    with demo_desk.reader() as s:
        data = snapshot(s, FROZEN_NOW, CAL)
    assert ref not in [d.reference for d in data.breached]
    with demo_desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        t.paused_since = FROZEN_NOW - timedelta(days=1)  # paused after it was already late
    with demo_desk.reader() as s:
        data = snapshot(s, FROZEN_NOW, CAL)
    assert ref in [d.reference for d in data.breached]


def test_empty_desk(desk):
    with desk.reader() as s:
        data = snapshot(s, FROZEN_NOW, CAL)
    assert data.open_total == 0 and data.agents == () and data.next_deadlines == ()
    assert sum(data.received_per_day) == 0 and all(c.month.total == 0 for c in data.compliance)


def test_no_customer_column_is_read(demo_desk):
    """The wall display never selects customer data: not the customer or
    order tables, not subjects, descriptions, bodies or addresses."""
    statements: list[str] = []

    @event.listens_for(demo_desk.engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, params, context, executemany):
        statements.append(statement.lower())

    with demo_desk.reader() as s:
        snapshot(s, FROZEN_NOW, CAL)
    event.remove(demo_desk.engine, "before_cursor_execute", _capture)
    sql = "\n".join(statements)
    assert "from ticket" in sql
    for forbidden in (
        "customer",
        "esim_order",
        "subject",
        "description",
        "body",
        "from_addr",
        "to_addr",
        "from_name",
        "email",
        "phone",
        "raw",
        "incident_date",
        "message.template",
    ):
        assert forbidden not in sql, forbidden


def test_aware_now_required(demo_desk):
    with demo_desk.reader() as s, pytest.raises(ValueError):
        snapshot(s, datetime(2026, 11, 23, 10, 0), CAL)


def test_memory_stays_flat_over_200_refreshes(demo_desk):
    def once():
        with demo_desk.reader() as s:
            return snapshot(s, FROZEN_NOW, CAL)

    for _ in range(10):  # warm the statement and compiled caches
        once()
    tracemalloc.start()
    try:
        once()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(200):
            once()
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current - base < 512 * 1024, f"grew {current - base} bytes over 200 refreshes"


def test_period_cache_reuses_the_30_day_figures_only(demo_desk):
    from app.dashboard_data import PeriodCache

    cache = PeriodCache(max_age=3600)
    with demo_desk.reader() as s:
        first = snapshot(s, FROZEN_NOW, CAL, cache=cache)
    with demo_desk.session() as s:  # a new complaint arrives: live tiles move at once
        t = s.scalars(
            select(Ticket).where(
                Ticket.kind == "complaint",
                Ticket.status == "closed",
                Ticket.closed_at >= FROZEN_NOW - timedelta(days=20),
            )
        ).first()
        t.status, t.closed_at = "investigation", None
    with demo_desk.reader() as s:
        second = snapshot(s, FROZEN_NOW, CAL, cache=cache)
        fresh = snapshot(s, FROZEN_NOW, CAL)
    assert second.compliance is first.compliance and second.closed_per_day == first.closed_per_day
    assert second.open_complaints == first.open_complaints + 1 == fresh.open_complaints
    assert sum(fresh.closed_per_day) == sum(first.closed_per_day) - 1
    # the next local day (or an expired cache) recomputes
    with demo_desk.reader() as s:
        tomorrow = snapshot(s, FROZEN_NOW + timedelta(days=1), CAL, cache=cache)
    assert tomorrow.compliance is not first.compliance
    cache.clear()
    with demo_desk.reader() as s:
        again = snapshot(s, FROZEN_NOW, CAL, cache=cache)
    assert again.closed_per_day == fresh.closed_per_day
