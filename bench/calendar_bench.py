"""Benchmark of the business calendar (issue 3).

Figures: deadlines per second for 1,000,000 random (start, N) pairs (target
>= 1e6/s), numpy.busday_offset on the same inputs when numpy is importable,
and the time to recompute every open deadline of 100,000 open tickets in an
SQLite desk including the write and commit (target < 1 s). The recompute
scenario: the desk adds a closure on the next business day, which moves about
a third of the running deadlines; a second run (nothing to change) is shown too.

    python -m bench.calendar_bench [--quick]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PAIRS = 1_000_000
TICKETS = 100_000


def _pairs(n: int, seed: int = 3) -> tuple[list[date], list[int]]:
    rng = random.Random(seed)
    base = date(2020, 1, 1).toordinal()
    starts = [date.fromordinal(base + rng.randrange(0, 3653)) for _ in range(n)]
    ns = [rng.randint(1, 20) for _ in range(n)]
    return starts, ns


def bench_deadlines(n: int) -> list[dict]:
    from app.business_calendar import BusinessCalendar

    cal = BusinessCalendar("EE", timezone="Europe/Tallinn")
    starts, ns = _pairs(n)
    cal.add_business_days_many(starts[:10], ns[:10])  # build the index outside the timing
    cal._ensure(date(2019, 1, 1).toordinal(), date(2031, 12, 31).toordinal())

    t = time.perf_counter()
    many = cal.add_business_days_many(starts, ns)
    batch_s = time.perf_counter() - t

    add = cal.add_business_days
    t = time.perf_counter()
    single = [add(d, k) for d, k in zip(starts, ns, strict=True)]
    single_s = time.perf_counter() - t
    assert many == single

    m = min(n, 100_000)
    tz = cal.tz
    instants = [datetime(d.year, d.month, d.day, 15, 30, tzinfo=UTC) for d in starts[:m]]
    due = cal.due_at
    t = time.perf_counter()
    for i, k in zip(instants, ns, strict=True):
        due(i, k)
    due_s = time.perf_counter() - t
    del tz

    rows = [
        {
            "name": "deadlines/s, batch (add_business_days_many)",
            "value": round(n / batch_s),
            "unit": "1/s",
            "target": ">= 1000000",
            "ok": n / batch_s >= 1e6,
        },
        {
            "name": "deadlines/s, one call each (add_business_days)",
            "value": round(n / single_s),
            "unit": "1/s",
            "target": ">= 1000000",
            "ok": n / single_s >= 1e6,
        },
        {
            "name": "due_at/s (aware datetime in, tz end-of-day out)",
            "value": round(m / due_s),
            "unit": "1/s",
            "target": "info",
            "ok": True,
        },
    ]
    try:
        import numpy as np
    except ImportError:
        rows.append(
            {
                "name": "numpy.busday_offset, same inputs",
                "value": None,
                "unit": "1/s",
                "target": "numpy not installed",
                "ok": True,
            }
        )
        return rows
    holidays = sorted(d for d in _holiday_dates(cal, 2019, 2032))
    bcal = np.busdaycalendar(weekmask="1111100", holidays=np.array(holidays, dtype="datetime64[D]"))
    arr = np.array(starts, dtype="datetime64[D]")
    offs = np.array(ns)
    t = time.perf_counter()
    res = np.busday_offset(arr, offs, roll="backward", busdaycal=bcal)
    np_s = time.perf_counter() - t
    agree = all(res[i].astype(date) == many[i] for i in range(0, n, max(1, n // 1000)))
    rows.append(
        {
            "name": "numpy.busday_offset, same inputs (arrays prebuilt)",
            "value": round(n / np_s),
            "unit": "1/s",
            "target": "info" + ("" if agree else " (DISAGREES)"),
            "ok": agree,
        }
    )
    return rows


def _holiday_dates(cal, y0: int, y1: int) -> list[date]:
    cal._ensure(date(y0, 1, 1).toordinal(), date(y1, 12, 31).toordinal())
    out = []
    for o in range(date(y0, 1, 1).toordinal(), date(y1, 12, 31).toordinal() + 1):
        d = date.fromordinal(o)
        if d.weekday() < 5 and not cal.is_business_day(d):
            out.append(d)
    return out


def seed_open_tickets(desk, n: int, cal, now: datetime, seed: int = 5) -> None:
    """Insert n open tickets of every kind with deadlines from `cal` (Core, one executemany)."""
    from sqlalchemy import insert

    from models.ticket import Ticket

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        kind = ("complaint", "complaint", "escalation", "refund", "inquiry")[i % 5]
        received = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
        row = {
            "reference": f"BEN-{i:07d}",
            "kind": kind,
            "status": "submitted",
            "subject": "bench",
            "priority": 2,
            "extensions": 0,
            "version": 1,
            "received_at": received,
            "created_at": received,
            "updated_at": received,
            "ack_due_at": None,
            "acknowledged_at": None,
            "resolution_due_at": None,
            "final_response_due_at": None,
            "review_due_at": None,
            "due_at": None,
            "due_clock": None,
        }
        if kind in ("complaint", "inquiry"):
            row["ack_due_at"] = row["due_at"] = cal.due_at(received, 2)
            row["due_clock"] = "acknowledgment"
            if kind == "complaint" and i % 2:
                acked = received + timedelta(hours=3)
                row.update(status="investigation", acknowledged_at=acked)
                row["resolution_due_at"] = row["due_at"] = cal.due_at(acked, 10)
                row["due_clock"] = "resolution"
        elif kind == "escalation":
            row["final_response_due_at"] = row["due_at"] = cal.due_at(received, 5)
            row["due_clock"] = "final_response"
        else:
            row["review_due_at"] = row["due_at"] = cal.due_at(received, 3)
            row["due_clock"] = "refund_review"
            row["status"] = "under_review"
        rows.append(row)
    with desk.engine.begin() as conn:
        conn.execute(insert(Ticket.__table__), rows)


def bench_recompute(n: int) -> list[dict]:
    from app.business_calendar import BusinessCalendar
    from app.db import open_desk
    from app.deadlines import recompute_open_deadlines

    cal = BusinessCalendar("EE", timezone="Europe/Tallinn")
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        desk = open_desk(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        try:
            seed_open_tickets(desk, n, cal, now)
            # the desk closes on the next business day: most running deadlines move
            closed = cal.with_closures([cal.add_business_days(now, 1)])
            t = time.perf_counter()
            with desk.session() as session:
                changed = recompute_open_deadlines(session, closed, now)
            took = time.perf_counter() - t
            t = time.perf_counter()
            with desk.session() as session:
                again = recompute_open_deadlines(session, closed, now)
            noop = time.perf_counter() - t
        finally:
            desk.dispose()
    return [
        {
            "name": f"recompute {n} open tickets ({changed} changed, incl. write)",
            "value": round(took, 3),
            "unit": "s",
            "target": "< 1",
            "ok": took < 1.0,
        },
        {
            "name": f"recompute again, nothing to change ({again} changed)",
            "value": round(noop, 3),
            "unit": "s",
            "target": "info",
            "ok": again == 0,
        },
    ]


def run(quick: bool = False) -> list[dict]:
    """All figures; quick=True uses 1/10 of the inputs."""
    pairs = PAIRS // 10 if quick else PAIRS
    tickets = TICKETS // 10 if quick else TICKETS
    return bench_deadlines(pairs) + bench_recompute(tickets)


def print_table(rows: list[dict]) -> None:
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:,}" if isinstance(r["value"], int) else str(r["value"])
        mark = "ok" if r["ok"] else "MISSED"
        print(f"{r['name']:<{width}}  {value:>12} {r['unit']:<4} target {r['target']:<20} {mark}")


if __name__ == "__main__":
    print_table(run(quick="--quick" in sys.argv[1:]))
