"""Wall display figures: app.dashboard_data.snapshot() over a 100,000-ticket
demo desk (issue 21's target: <= 50 ms at 100k), on SQLite and, when
$ESIMDESK_TEST_PG names a server, on PostgreSQL; with each statement's own
time (where the time goes) and a plain full-scan count as the machine's
yardstick (a loaded machine slows both alike).

$DASHBOARD_BENCH_SQLITE: a path where the SQLite demo desk is kept and
reused by the next run (built when missing); $DASHBOARD_BENCH_PG: the URL of
a PostgreSQL database kept the same way (instead of a throwaway one).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
TARGET_MS = 50.0
ROUNDS = 7


def _build(url: str, n: int, cal) -> None:
    from sqlalchemy import func, select

    from app.db import open_desk
    from app.demo import build_demo
    from models import Ticket

    desk = open_desk(url)
    try:
        with desk.reader() as s:
            have = s.scalar(select(func.count()).select_from(Ticket))
        if not have:
            with desk.session() as s:
                build_demo(s, n, 7, NOW, cal, login="bench")
    finally:
        desk.dispose()


def _statement_times(s, cal) -> dict[str, float]:
    """Median milliseconds of each statement of the snapshot, run alone."""
    from app.dashboard_data import OUTBOX_GRACE
    from app.dashboard_queries import TREND_DAYS, day_bounds, statements

    q = statements(s.get_bind().dialect.name, 0.25)
    params = {"now": NOW, "outbox_cutoff": NOW - OUTBOX_GRACE}
    params.update({f"b{i}": b for i, b in enumerate(day_bounds(cal, cal.local_date(NOW), TREND_DAYS))})
    out = {}
    for name, stmt in q.items():
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            s.execute(stmt, params).all()
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times) * 1000
    return out


def _measure(url: str, engine: str, n: int, cal) -> list[dict]:
    from sqlalchemy import text

    from app.dashboard_data import PeriodCache, snapshot
    from app.db import open_desk

    desk = open_desk(url)
    walls, cpus, scans, live = [], [], [], []
    data = None
    cache = PeriodCache(3600)
    try:
        with desk.reader() as s:
            snapshot(s, NOW, cal, cache=cache)
            parts = _statement_times(s, cal)
        for _ in range(ROUNDS):
            with desk.reader() as s:
                t0 = time.perf_counter()
                s.execute(
                    text("SELECT count(*) FROM ticket WHERE status != 'closed' AND received_at IS NOT NULL")
                ).scalar()
                scans.append(time.perf_counter() - t0)
                w0, c0 = time.perf_counter(), time.process_time()
                data = snapshot(s, NOW, cal)
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
                w0 = time.perf_counter()
                snapshot(s, NOW, cal, cache=cache)
                live.append(time.perf_counter() - w0)
    finally:
        desk.dispose()
    wall = statistics.median(walls[1:]) * 1000
    big = n == 100_000
    by_part = ", ".join(f"{k} {v:.0f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v >= 0.5)
    rows = [
        {
            "name": f"{engine}: wall snapshot, {n:,} tickets ({data.open_total:,} open), median",
            "value": round(wall, 1),
            "unit": "ms",
            "target": f"<= {TARGET_MS:.0f} ms" if big else None,
            "ok": wall <= TARGET_MS if big else None,
        },
        {
            "name": f"{engine}:   same, CPU time of this process",
            "value": round(statistics.median(cpus[1:]) * 1000, 1),
            "unit": "ms",
        },
        {
            "name": f"{engine}:   a wall refresh (30-day figures cached), median",
            "value": round(statistics.median(live[1:]) * 1000, 1),
            "unit": "ms",
        },
        {
            "name": f"{engine}:   yardstick: full scan count of open tickets",
            "value": round(statistics.median(scans[1:]) * 1000, 1),
            "unit": "ms",
        },
    ]
    rows += [
        {"name": f"{engine}:   statement {name}", "value": round(ms, 1), "unit": "ms"}
        for name, ms in sorted(parts.items(), key=lambda kv: -kv[1])
        if ms >= 0.5
    ]
    print(f"  {engine} by statement (ms): {by_part}", flush=True)
    return rows


def run(quick: bool = False) -> list[dict]:
    from app.business_calendar import BusinessCalendar

    n = 10_000 if quick else 100_000
    cal = BusinessCalendar("EE", None, "Europe/Tallinn")
    rows: list[dict] = []
    keep = os.environ.get("DASHBOARD_BENCH_SQLITE")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{keep or Path(tmp) / 'bench.sqlite'}"
        _build(url, n, cal)
        rows += _measure(url, "sqlite", n, cal)
    kept = os.environ.get("DASHBOARD_BENCH_PG")
    if kept:
        _build(kept, n, cal)
        return rows + _measure(kept, "postgresql", n, cal)
    base = os.environ.get("ESIMDESK_TEST_PG")
    if not base:
        rows.append(
            {
                "name": "postgresql: not run (set ESIMDESK_TEST_PG)",
                "value": None,
                "unit": "",
                "target": None,
                "ok": None,
            }
        )
        return rows
    from bench.concurrency_bench import drop_pg_db, fresh_pg_db

    url = fresh_pg_db(base)
    try:
        _build(url, n, cal)
        rows += _measure(url, "postgresql", n, cal)
    finally:
        drop_pg_db(base, url)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
