"""Orders import (the shared orders contract): 100,000 orders from a CSV file into a
fresh desk, then the same file again (nothing changes) and a file where a
tenth of the orders changed (usage grew: updates with history). Target
>= 20,000 rows/s on SQLite; PostgreSQL too when $ESIMDESK_TEST_PG is set."""

from __future__ import annotations

import csv
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.orders.fields import FIELDS

TARGET = 20_000


def write_orders(path: Path, n: int, seed: int = 7, changed_every: int = 0) -> None:
    """n orders of n // 3 customers; with changed_every k, every k-th order's usage grew."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(FIELDS)
        for i in range(n):
            bought = start + timedelta(minutes=i * 3)
            used = rng.choice([0, 0, 120.5, 800]) + (50 if changed_every and i % changed_every == 0 else 0)
            w.writerow(
                [
                    f"ORD-{2026000000 + i:010d}-{i % 7919:04d}",
                    "esimium" if i % 5 else "airalo",
                    f"customer{i // 3}@example.com",
                    f"Customer {i // 3}",
                    bought.isoformat(),
                    f"{rng.choice([4.5, 9, 13, 19, 26]):.2f}",
                    "EUR",
                    "card",
                    "end_user",
                    1,
                    "Europe 5 GB 30 days",
                    (bought + timedelta(minutes=2)).isoformat(),
                    "true",
                    "true" if used else "false",
                    used,
                    (bought + timedelta(days=30)).isoformat(),
                    "",
                    "",
                ]
            )


def _measure(url: str, files: dict[str, Path], n: int, engine_name: str) -> list[dict]:
    from app.db import open_desk
    from app.orders.importer import import_orders

    desk = open_desk(url)
    rows = []
    try:
        for label, path, expect in (
            ("new orders", files["base"], "created"),
            ("same file again", files["base"], "unchanged"),
            ("a tenth changed", files["changed"], "updated"),
        ):
            started, cpu = time.perf_counter(), time.process_time()
            summary = import_orders(desk.engine, [str(path)], now=datetime.now(UTC))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            rate = n / elapsed
            got = getattr(summary, expect)
            # the rate per CPU second of this process too: on a shared machine the wall clock also counts others' work
            rows.append(
                {
                    "name": f"{engine_name}: import {n:,} orders, {label} ({got:,} {expect}; {n / cpu:,.0f}/cpu s)",
                    "value": round(rate),
                    "unit": "rows/s",
                    "target": f">= {TARGET:,}",
                    "ok": rate >= TARGET and summary.rejected == 0,
                }
            )
    finally:
        desk.dispose()
    return rows


def run(quick: bool = False) -> list[dict]:
    n = 10_000 if quick else 100_000
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {"base": Path(tmp) / "orders.csv", "changed": Path(tmp) / "orders-changed.csv"}
        write_orders(files["base"], n)
        write_orders(files["changed"], n, changed_every=10)
        rows += _measure(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", files, n, "sqlite")
        base = os.environ.get("ESIMDESK_TEST_PG")
        if base:
            from bench.concurrency_bench import drop_pg_db, fresh_pg_db

            url = fresh_pg_db(base)
            try:
                rows += _measure(url, files, n, "postgresql")
            finally:
                drop_pg_db(base, url)
        else:
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


if __name__ == "__main__":
    for row in run():
        print(row)
