"""Demo desk generation into a fresh throwaway desk, on either engine.

`--scale 100k`: 100,000 tickets, target < 60 s; `--scale 1m`: 1,000,000
tickets, issue 21's target < 3 min. SQLite builds into a temporary file;
PostgreSQL into a new database on the bench server (bench/desks.py), dropped
afterwards. Beside the wall time: the builder's own CPU time (the writing
process with SQLite's work, and the forked generator, app/demo_pipeline.py;
PostgreSQL's server work is not in it), and each step's seconds
(DemoResult.phases).
"""

from __future__ import annotations

import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.desks import SCALES, scratch_database

TARGETS = {100_000: 60.0, 1_000_000: 180.0}  # seconds (1,000,000: issue 21)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _build(url: str, n: int) -> tuple[float, float, dict[str, float]]:
    from app.business_calendar import BusinessCalendar
    from app.db import open_desk
    from app.demo import build_demo, build_session

    started, cpu, child = time.perf_counter(), time.process_time(), _children_cpu()
    desk = open_desk(url)
    try:
        with build_session(desk) as s:
            done = build_demo(s, n, 7, datetime(2026, 11, 23, 10, tzinfo=UTC), BusinessCalendar("EE"), login="bench")
    finally:
        desk.dispose()
    cpu = time.process_time() - cpu + _children_cpu() - child
    return time.perf_counter() - started, cpu, done.phases


def _pg_build(n: int) -> tuple[float, float, dict[str, float]]:
    with scratch_database("esimdesk_demo_bench") as url:
        return _build(url, n)


def run(quick: bool = False, engine: str = "sqlite", scale: str = "100k") -> list[dict]:
    n = 10_000 if quick else SCALES[scale]
    if engine == "pg":
        elapsed, cpu, phases = _pg_build(n)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, cpu, phases = _build(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", n)
    target = TARGETS.get(n)
    return [
        {
            "name": f"demo desk, {n:,} tickets ({engine}; incl. migrate + commit)",
            "value": round(elapsed, 2),
            "unit": "s",
            "target": f"< {target:.0f} s" if target else None,
            "ok": elapsed < target if target else None,
        },
        {"name": f"  builder CPU time ({engine})", "value": round(cpu, 2), "unit": "s", "target": None, "ok": None},
    ] + [
        {"name": f"  step: {step.strip()}", "value": round(took, 2), "unit": "s", "target": None, "ok": None}
        for step, took in phases.items()
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
