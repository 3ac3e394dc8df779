"""`esimdesk sla`: check a deadline by hand, recompute the desk's open deadlines.

    esimdesk sla due --start ISO --days N --country CC [--subdiv S] [--tz TZ] [--closed YYYY-MM-DD ...]
    esimdesk sla recompute [--dry-run]

`sla due` never opens the database (the shared SLA clocks contract, "CLI").
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from app.cli.numbers import int_in
from app.errors import InputError

if TYPE_CHECKING:
    from app.business_calendar import BusinessCalendar
    from app.cli.context import CliContext, Subparsers
    from app.db import Desk


DEFAULT_TZ = "Europe/Tallinn"


def register(sub: Subparsers) -> None:
    sla = sub.add_parser("sla", help="SLA deadlines in business days")
    sla_sub = sla.add_subparsers(dest="sla_command", metavar="SUBCOMMAND", parser_class=type(sla))
    sla_sub.required = True

    due = sla_sub.add_parser("due", help="the deadline of 'within N business days of START'")
    due.add_argument(
        "--start",
        required=True,
        metavar="ISO_DATETIME",
        help="when the clock starts; without an offset it is read in the desk timezone",
    )
    due.add_argument(
        "--days",
        required=True,
        type=int_in(-1_000_000, 36500, "a number of days"),
        metavar="N",
        help="business days (0 or more)",
    )
    due.add_argument("--country", required=True, metavar="CC", help="holiday country, e.g. EE, US, DE")
    due.add_argument("--subdiv", metavar="S", help="subdivision, e.g. CA (US) or BY (DE)")
    due.add_argument("--tz", metavar="TZ", help="IANA timezone (default: the desk config's, else Europe/Tallinn)")
    due.add_argument("--closed", nargs="*", default=[], metavar="YYYY-MM-DD", help="extra closure dates of the desk")
    due.set_defaults(func=due_handler)

    rec = sla_sub.add_parser("recompute", help="recompute every open ticket's deadlines with the desk's calendar")
    rec.add_argument("--dry-run", action="store_true", help="only count the tickets whose deadlines would move")
    rec.set_defaults(func=recompute_handler)


def _parse_start(text: str, tz: tzinfo) -> datetime:
    try:
        start = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"malformed --start {text!r} (expected an ISO datetime such as 2026-12-18T15:00+02:00)"
        ) from None
    if start.utcoffset() is None:
        start = start.replace(tzinfo=tz)
    return start


def _parse_closed(items: list[str]) -> list[date]:
    out = []
    for item in items:
        try:
            out.append(date.fromisoformat(item.strip()))
        except ValueError:
            raise InputError(f"malformed --closed date {item!r} (expected YYYY-MM-DD)") from None
    return out


def _default_tz(ctx: CliContext) -> str:
    try:
        return ctx.config.calendar.timezone or DEFAULT_TZ
    except Exception:  # noqa: BLE001 - a broken config must not stop a by-hand check
        return DEFAULT_TZ


def due_answer(
    start_text: str, days: int, country: str, subdiv: str | None, tz: str, closed: list[str]
) -> dict[str, Any]:
    """The JSON object `sla due` prints (the shared SLA clocks contract)."""
    from app.business_calendar import BusinessCalendar

    if days < 0:
        raise InputError(f"--days must be 0 or more, got {days}")
    cal = BusinessCalendar(country, subdiv, tz, closures=_parse_closed(closed))
    start = _parse_start(start_text, cal.tz)
    due_date = cal.add_business_days(start, days)
    return {
        "due_date": due_date.isoformat(),
        "due_at": cal.end_of_local_day(due_date).isoformat(),
        "business_days": days,
    }


def due_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    tz = args.tz if args.tz is not None else _default_tz(ctx)
    print(json.dumps(due_answer(args.start, args.days, args.country, args.subdiv, tz, args.closed)))
    return 0


def recompute_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.business_calendar import desk_calendar
    from app.deadlines import preview_recompute

    cal = desk_calendar(ctx.config)
    now = datetime.now(UTC)
    if args.dry_run:
        with ctx.desk.reader() as session:
            changed = preview_recompute(session, cal, now)
    else:
        changed = recompute_in_batches(ctx.desk, cal, now)
    print(json.dumps({"changed": changed, "dry_run": bool(args.dry_run)}))
    return 0


RECOMPUTE_BATCH_IDS = 5000


def recompute_in_batches(desk: Desk, cal: BusinessCalendar, now: datetime, batch: int = RECOMPUTE_BATCH_IDS) -> int:
    """Open tickets recomputed a range of `batch` ids per transaction, so the
    write lock is held briefly and consoles keep working."""
    from sqlalchemy import func, select

    from app.deadlines import recompute_open_deadlines
    from models import Ticket

    with desk.reader() as session:
        top = session.scalar(select(func.max(Ticket.id))) or 0
    changed = 0
    for lo in range(1, top + 1, batch):
        with desk.session() as session:
            changed += recompute_open_deadlines(session, cal, now, ids=(lo, lo + batch - 1))
    return changed
