"""Wall display figures: app.dashboard_data.snapshot() over a 100,000-ticket
demo desk (target < 300 ms), with a plain full-scan count as the machine's
yardstick (a loaded machine slows both alike)."""
from __future__ import annotations

import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


def run(quick: bool = False) -> list[dict]:
    from sqlalchemy import text

    from app.business_calendar import BusinessCalendar
    from app.dashboard_data import PeriodCache, snapshot
    from app.db import open_desk
    from app.demo import build_demo

    n = 10_000 if quick else 100_000
    now = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
    cal = BusinessCalendar("EE", None, "Europe/Tallinn")
    with tempfile.TemporaryDirectory() as tmp:
        desk = open_desk(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        with desk.session() as s:
            build_demo(s, n, 7, now, cal, login="bench")
        walls, cpus, scans, live = [], [], [], []
        data = None
        cache = PeriodCache(3600)
        with desk.reader() as s:
            snapshot(s, now, cal, cache=cache)
        for _ in range(7):
            with desk.reader() as s:
                t0 = time.perf_counter()
                s.execute(text("SELECT count(*) FROM ticket WHERE status != 'closed' AND received_at IS NOT NULL")).scalar()
                scans.append(time.perf_counter() - t0)
                w0, c0 = time.perf_counter(), time.process_time()
                data = snapshot(s, now, cal)
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
                w0 = time.perf_counter()
                snapshot(s, now, cal, cache=cache)
                live.append(time.perf_counter() - w0)
        desk.dispose()
    wall = statistics.median(walls[1:]) * 1000
    parts = ", ".join(f"{k} {v * 1000:.0f}" for k, v in data.timings.items() if k != "total")
    return [
        {"name": f"dashboard snapshot, {n:,} tickets ({data.open_total:,} open), median", "value": round(wall, 1),
         "unit": "ms", "target": "< 300 ms" if n == 100_000 else None, "ok": wall < 300 if n == 100_000 else None},
        {"name": "  same, CPU time", "value": round(statistics.median(cpus[1:]) * 1000, 1), "unit": "ms"},
        {"name": "  a wall refresh (30-day figures cached), median", "value": round(statistics.median(live[1:]) * 1000, 1),
         "unit": "ms"},
        {"name": f"  last run by part: {parts}"[:58], "value": None, "unit": ""},
        {"name": "  yardstick: full scan count of open tickets", "value": round(statistics.median(scans[1:]) * 1000, 1), "unit": "ms"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
