"""Demo desk generation: 100,000 tickets into a fresh SQLite desk (target < 60 s)."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def run(quick: bool = False) -> list[dict]:
    from app.business_calendar import BusinessCalendar
    from app.db import open_desk
    from app.demo import build_demo

    n = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        desk = open_desk(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        with desk.session() as s:
            build_demo(s, n, 7, datetime(2026, 11, 23, 10, tzinfo=UTC), BusinessCalendar("EE"), login="bench")
        elapsed = time.perf_counter() - started
        desk.dispose()
    return [
        {
            "name": f"demo desk, {n:,} tickets (incl. migrate + commit)",
            "value": round(elapsed, 2),
            "unit": "s",
            "target": "< 60 s" if n == 100_000 else None,
            "ok": elapsed < 60 if n == 100_000 else None,
        }
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
