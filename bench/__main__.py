"""`python -m bench [--quick] [--engine sqlite|pg|both] [--scale 100k|1m] [NAME ...]`:
run the benchmarks, print each figure beside its target, save JSON.

Each benchmark module has `run(quick=False) -> list[dict]` with keys name,
value, unit, target, ok; one that also takes `engine` (and `scale`) runs once
per engine asked for (PostgreSQL: the server at $ESIMDESK_BENCH_PG, see
bench/desks.py) at that scale, its large desk built once and reused. A module
that is missing or fails is reported as such (and makes the exit code 1)
instead of hiding the other figures. The load average is printed beside each
module's figures: on a shared machine they mean little without it.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import time
import traceback
from pathlib import Path

MODULES = [
    "calendar_bench",
    "demo_bench",
    "intake_bench",
    "console_bench",
    "concurrency_bench",
    "dashboard_bench",
    "orders_bench",
    "search_bench",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    parser.add_argument(
        "--engine",
        choices=("sqlite", "pg", "both"),
        default="sqlite",
        help="database engine for the benchmarks that take one (default sqlite)",
    )
    parser.add_argument(
        "--scale",
        choices=("100k", "1m"),
        default="100k",
        help="desk size for the benchmarks that take one (1m: built once, reused)",
    )
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(MODULES)})")
    args = parser.parse_args(argv)
    names = args.names or MODULES
    engines = ["sqlite", "pg"] if args.engine == "both" else [args.engine]
    results: list[dict] = []
    failed = False
    for name in names:
        mod_name = name if name.endswith("_bench") else f"{name}_bench"
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{mod_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{mod_name}":
                print(f"{mod_name}: not present", file=sys.stderr)
                continue
            raise
        params = inspect.signature(module.run).parameters
        runs = [{"engine": e} for e in engines] if "engine" in params else [{}]
        for extra in runs:
            if "scale" in params:
                extra["scale"] = args.scale
            label = " ".join(f"{k}={v}" for k, v in extra.items())
            print(f"== {mod_name} {label}  (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})", flush=True)
            try:
                rows = module.run(quick=args.quick, **extra)
            except Exception:  # noqa: BLE001 - a broken benchmark must not hide the others
                traceback.print_exc()
                failed = True
                continue
            _print_rows(rows, mod_name, extra, results)
        print(f"  ({time.perf_counter() - started:.1f} s)")
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1, default=str))
    return 1 if failed else 0


def _print_rows(rows: list[dict], mod_name: str, extra: dict, results: list[dict]) -> None:
    """Each figure beside its target: ok, MISS, or blank for information."""
    for row in rows:
        row.setdefault("bench", mod_name)
        row.update({k: v for k, v in extra.items() if k not in row})
        ok = row.get("ok")
        mark = "  " if ok is None else ("ok" if ok else "MISS")
        value = row.get("value")
        shown = "n/a" if value is None else (f"{value:,.3f}" if isinstance(value, float) else f"{value:,}")
        print(f"  {mark:4} {row['name']:<58} {shown:>16} {row.get('unit', ''):<10} target {row.get('target') or '-'}")
        results.append(row)


if __name__ == "__main__":
    sys.exit(main())
