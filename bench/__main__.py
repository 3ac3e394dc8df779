"""`python -m bench [--quick] [NAME ...]`: run the benchmarks, print a table, save JSON.

Each benchmark module has `run(quick=False) -> list[dict]` with keys name,
value, unit, target, ok. A module that is missing or fails is reported as
such (and makes the exit code 1) instead of hiding the other figures.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

MODULES = ["calendar_bench", "demo_bench", "intake_bench", "console_bench", "concurrency_bench", "dashboard_bench",
           "orders_bench", "search_bench"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(MODULES)})")
    args = parser.parse_args(argv)
    names = args.names or MODULES
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
        print(f"== {mod_name}", flush=True)
        try:
            rows = module.run(quick=args.quick)
        except Exception:  # a broken benchmark must not hide the others
            traceback.print_exc()
            failed = True
            continue
        for row in rows:
            row.setdefault("bench", mod_name)
            ok = row.get("ok")
            mark = "  " if ok is None else ("ok" if ok else "MISS")
            value = row.get("value")
            shown = "n/a" if value is None else (f"{value:,.3f}" if isinstance(value, float) else f"{value:,}")
            print(f"  {mark:4} {row['name']:<58} {shown:>16} {row.get('unit', ''):<10} target {row.get('target') or '-'}")
            results.append(row)
        print(f"  ({time.perf_counter() - started:.1f} s)")
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
