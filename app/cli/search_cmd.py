"""`esimdesk search QUERY`: tickets by what they hold, best first, as JSON lines (the shared search contract)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers


KINDS = ("complaint", "escalation", "refund", "inquiry")


def register(sub: Subparsers) -> None:
    p = sub.add_parser("search", help="find tickets by their text: references, customers, orders, messages, notes")
    p.add_argument("query", metavar="QUERY", help='words (all must match), "an exact phrase", -word to exclude')
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N tickets (default 20)")
    p.add_argument("--kind", choices=KINDS)
    p.add_argument("--status", metavar="S")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.search import parse, search

    parse(args.query)  # a malformed query is refused before the database is opened
    ctx.actor()  # staff only: notes are found too
    with ctx.desk.reader() as session:
        for hit in search(session, args.query, limit=args.limit, kind=args.kind, status=args.status):
            sys.stdout.write(json.dumps(hit.as_json(), ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0
