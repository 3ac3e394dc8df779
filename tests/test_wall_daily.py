"""The wall's 30-day figures from the kept hours (app/wall_daily.py,
migration 0018's triggers) are the full statement's (app.dashboard_queries'
`compliance`, `received`, `closed`), at instants on day boundaries, on the
due instants of running clocks (the live part of the current hour) and over
a weekend; the kept table equals a recount after writes no service makes.

Every test on a `desk` or `demo_desk` also ends with kept == recount
(tests/conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app import wall_daily
from app.business_calendar import BusinessCalendar
from app.dashboard_data import snapshot
from conftest import FROZEN_NOW
from models import Ticket
from wall_fixtures import CAL, built  # noqa: F401  (fixture)

TALLINN_MIDNIGHT = datetime(2026, 11, 23, 22, tzinfo=UTC)  # Tuesday 24 November, 00:00 local
INSTANTS = [
    FROZEN_NOW,
    FROZEN_NOW + timedelta(minutes=37, seconds=11),
    TALLINN_MIDNIGHT - timedelta(microseconds=1),
    TALLINN_MIDNIGHT,
    TALLINN_MIDNIGHT + timedelta(hours=1),
    datetime(2026, 11, 28, 10, 30, tzinfo=UTC),  # Saturday
    datetime(2026, 11, 29, 22, tzinfo=UTC),  # Monday 00:00 local
    datetime(2026, 12, 9, 15, 59, 59, tzinfo=UTC),  # a new 30 days
]


def _same(desk) -> dict:
    with desk.reader() as s:
        got, want = wall_daily.stored(s), wall_daily.recounted(s)
    assert got == want
    return got


def _period(s, now):
    kept, full = (snapshot(s, now, CAL, by_kept_hours=k) for k in (True, False))
    for name in ("compliance", "breaches_per_day", "received_per_day", "closed_per_day", "trend_days"):
        assert getattr(kept, name) == getattr(full, name), (now, name)
    return kept


def test_demo_build_fills_the_kept_hours(built):
    kept = _same(built)
    figures = {f for _h, f in kept}
    assert {"received", "closed", "acknowledgment:met", "acknowledgment:over"} <= figures


def test_figures_equal_the_statement_at_day_boundaries(built):
    with built.reader() as s:
        seen = [_period(s, now) for now in INSTANTS]
    assert seen[0].compliance[0].month.total > 0 and sum(seen[0].breaches_per_day) > 0
    assert sum(seen[2].received_per_day) > 0


def test_figures_equal_the_statement_at_running_dues(built):
    """At, just after and within the hour after running clocks' due instants
    (the demo's at a local midnight, and some moved into the middle of an
    hour): what falls overdue in the current hour is the live part."""
    dues = set()
    with built.session() as s:
        for k, j in enumerate(wall_daily.judged()):
            due_col = j.clock.due
            ids = s.scalars(select(Ticket.id).where(j.running(), j.clock.due >= FROZEN_NOW).limit(2)).all()
            moved = FROZEN_NOW + timedelta(minutes=12 + 9 * k)
            s.execute(Ticket.__table__.update().where(Ticket.id.in_(ids)).values({due_col.key: moved}))
            dues |= set(s.scalars(select(due_col).where(j.running(), due_col >= FROZEN_NOW).limit(4)).all())
        s.commit()
    _same(built)
    assert len(dues) >= 5
    with built.reader() as s:
        over = []
        for due in sorted(dues):
            due = due if due.tzinfo else due.replace(tzinfo=UTC)
            for now in (due, due + timedelta(microseconds=1), due + timedelta(minutes=3)):
                over.append(_period(s, now).breaches_per_day[-1])
    assert max(over) > over[0] == 0  # moved dues fell overdue in the current hour


def test_raw_changes_keep_the_hours(built):
    with built.session() as s:
        open_ids = s.scalars(select(Ticket.id).where(Ticket.status != "closed").order_by(Ticket.id).limit(40)).all()
        closed = s.scalars(select(Ticket.id).where(Ticket.status == "closed").order_by(Ticket.id).limit(5)).all()
        t = Ticket.__table__
        later = FROZEN_NOW - timedelta(minutes=5)
        s.execute(t.update().where(t.c.id.in_(open_ids[:5])).values(status="closed", closed_at=later))
        s.execute(t.update().where(t.c.id.in_(open_ids[5:10])).values(acknowledged_at=later))
        s.execute(t.update().where(t.c.id.in_(open_ids[10:15])).values(paused_since=later))
        s.execute(t.update().where(t.c.id.in_(open_ids[15:20])).values(extensions=1, kind="complaint"))
        s.execute(t.update().where(t.c.id.in_(open_ids[20:25])).values(ack_due_at=later, review_due_at=later))
        s.execute(t.update().where(t.c.id.in_(open_ids[25:30])).values(decided_at=later, final_response_at=later))
        s.execute(t.update().where(t.c.id.in_(closed)).values(status="in_progress", closed_at=None))
        s.execute(t.update().values(version=t.c.version + 1))  # touches no fact
        s.commit()
    _same(built)
    with built.session() as s:  # a copy in, then out again
        row = dict(s.execute(select(t).where(t.c.id == open_ids[0])).mappings().one())
        row.update(reference="XX-2026-999999", escalation_of_id=None)
        new_id = row["id"] = s.scalar(select(func.max(Ticket.id))) + 1
        s.execute(t.insert().values(row))
        s.commit()
        _same(built)
        s.execute(t.delete().where(t.c.id == new_id))
        s.commit()
    _same(built)
    with built.reader() as s:
        _period(s, FROZEN_NOW)


def test_a_calendar_off_the_hour_reads_the_statement(built):
    """Local midnights off the UTC hour (+05:30) cannot be summed from hours:
    the snapshot falls back to the full statement, with the same figures."""
    cal = BusinessCalendar("IN", None, "Asia/Kolkata")
    with built.reader() as s:
        a = snapshot(s, FROZEN_NOW, cal)
        b = snapshot(s, FROZEN_NOW, cal, by_kept_hours=False)
    assert a.compliance == b.compliance and a.received_per_day == b.received_per_day
