"""`esimdesk export`: stream tickets as JSON lines or CSV (the shared export contract)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("export", help="stream tickets as JSON lines or CSV")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument("--kind", choices=["complaint", "escalation", "refund", "inquiry"])
    p.add_argument("--status")
    p.add_argument("--mask-pii", action="store_true", help="mask customer emails (j***@e***.com)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.export import iter_tickets, write_csv, write_jsonl

    actor = ctx.actor()
    actor.require("dashboard", "export tickets (supervisors and admins)")
    with ctx.desk.reader() as session:
        rows = iter_tickets(session, args.kind, args.status, args.mask_pii, at_risk_share=ctx.config.at_risk_share)
        (write_csv if args.format == "csv" else write_jsonl)(rows, sys.stdout)
        sys.stdout.flush()
    return 0
