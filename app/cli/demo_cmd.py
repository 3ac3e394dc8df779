"""`esimdesk demo`: fill a new database with a realistic demo desk."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.cli.numbers import INT32_MAX, int_in

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help="fill the database with a realistic demo desk (deterministic per seed)")
    p.add_argument("--tickets", type=int_in(1, 1_000_000, "a ticket count"), default=2000)
    p.add_argument("--seed", type=int_in(0, INT32_MAX, "a seed"), default=7)
    p.add_argument("--now", help="anchor time for the generated desk (ISO 8601; default: now)")
    p.set_defaults(func=run, half_built_ok=True)  # a desk whose build was stopped part way: built again


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.business_calendar import desk_calendar
    from app.demo import build_demo, build_session
    from app.errors import InputError

    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            raise InputError(f"--now {args.now!r} is not an ISO 8601 datetime") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        if not 2000 <= now.year <= 2100:
            raise InputError(f"--now {args.now!r} is out of range (years 2000 to 2100)")
    else:
        now = datetime.now(UTC)
    cal = desk_calendar(ctx.config)
    with build_session(ctx.desk) as session:
        result = build_demo(session, args.tickets, args.seed, now, cal)
    print(json.dumps({"tickets": result.tickets, "by_kind": result.counts, "seconds": round(result.seconds, 2)}))
    return 0
