"""Wall display figures: app.dashboard_data.snapshot() over the demo desk of
`--scale` (bench/desks.py: 100k or 1m tickets, built once and reused) on
`--engine` (issue 21's targets: <= 50 ms at 100k, <= 100 ms at 1M), uncached
and as a wall refresh (the 30-day figures cached); with each statement's own
time (where the time goes) and a plain full-scan count as the machine's
yardstick (a loaded machine slows both alike).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
TARGETS_MS = {100_000: 50.0, 1_000_000: 100.0}  # issue 21
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
    """Median milliseconds of each statement of the snapshot, run alone
    (`compliance`, `received` and `closed` are the full statements the kept
    hours replace: `daily` and `daily_live`)."""
    from app.dashboard_data import params_at
    from app.dashboard_queries import statements

    q = statements(s.get_bind().dialect.name, 0.25)
    params, _on_the_hour = params_at(cal, NOW)
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
    walls, cpus, scans, live, live_cpus = [], [], [], [], []
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
                w0, c0 = time.perf_counter(), time.process_time()
                snapshot(s, NOW, cal, cache=cache)
                live.append(time.perf_counter() - w0)
                live_cpus.append(time.process_time() - c0)
    finally:
        desk.dispose()
    wall = statistics.median(walls[1:]) * 1000
    cached = statistics.median(live[1:]) * 1000
    target = TARGETS_MS.get(n)
    by_part = ", ".join(f"{k} {v:.0f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v >= 0.5)
    rows = [
        {
            "name": f"{engine}: wall snapshot, {n:,} tickets ({data.open_total:,} open), median",
            "value": round(wall, 1),
            "unit": "ms",
            "target": f"<= {target:.0f} ms" if target else None,
            "ok": wall <= target if target else None,
        },
        {
            "name": f"{engine}:   same, CPU time of this process",
            "value": round(statistics.median(cpus[1:]) * 1000, 1),
            "unit": "ms",
        },
        {
            "name": f"{engine}:   a wall refresh (30-day figures cached), median",
            "value": round(cached, 1),
            "unit": "ms",
            "target": f"<= {target:.0f} ms" if target else None,
            "ok": cached <= target if target else None,
        },
        {
            "name": f"{engine}:   same, CPU time of this process",
            "value": round(statistics.median(live_cpus[1:]) * 1000, 1),
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


def run(quick: bool = False, engine: str = "sqlite", scale: str | None = None) -> list[dict]:
    """The snapshot on `engine` over the demo desk of `scale` (bench/desks.py:
    built once, reused; --quick: a throwaway 10,000-ticket SQLite desk)."""
    from app.business_calendar import BusinessCalendar
    from bench.desks import SCALES, NoServer, desk_url

    cal = BusinessCalendar("EE", None, "Europe/Tallinn")
    name = "postgresql" if engine == "pg" else engine
    if quick:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
            _build(url, 10_000, cal)
            return _measure(url, "sqlite", 10_000, cal)
    n = SCALES[scale or "100k"]
    try:
        url, _took = desk_url(n, engine)
    except NoServer as exc:
        return [{"name": f"{name}: not run ({exc})", "value": None, "unit": "", "target": None, "ok": None}]
    return _measure(url, name, n, cal)


if __name__ == "__main__":
    for row in run():
        print(row)
