"""`esimdesk orders`: import the shop's orders; look one up (the shared orders contract).

esimdesk orders import PATH...             # .csv (header row) or .jsonl
esimdesk orders lookup ORDER               # run [orders] lookup, store the order
esimdesk orders lookup --ticket REF        # the order a ticket names; the result goes on the ticket
esimdesk orders show ORDER                 # the stored order and its history, as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers


def register(sub: Subparsers) -> None:
    orders = sub.add_parser("orders", help="import orders from the shop; look one up")
    osub = orders.add_subparsers(dest="orders_command", metavar="SUBCOMMAND", parser_class=type(orders))
    osub.required = True

    imp = osub.add_parser("import", help="import orders from CSV (header row) or JSONL files; prints a JSON summary")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="a .csv or .jsonl file")
    imp.set_defaults(func=import_handler)

    look = osub.add_parser("lookup", help="look an order up with the [orders] lookup command and store it")
    look.add_argument("order", nargs="?", metavar="ORDER", help="order number")
    look.add_argument("--ticket", metavar="REF", help="the order a ticket names; the result is recorded on the ticket")
    look.set_defaults(func=lookup_handler)

    show = osub.add_parser("show", help="the stored order and its history, as JSON")
    show.add_argument("order", metavar="ORDER", help="order number")
    show.set_defaults(func=show_handler)


def import_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.orders.importer import check_readable, import_orders
    from app.tickets import utcnow

    check_readable(args.paths)  # before opening the database: exit 2, one line
    summary = import_orders(ctx.desk.engine, args.paths, now=utcnow())
    sys.stdout.write(json.dumps(summary.as_dict(), ensure_ascii=False) + "\n")
    return 0


def lookup_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.errors import InputError
    from app.orders.lookup import LookupFailed, fetch_order, refresh_for_ticket
    from app.tickets import utcnow

    if bool(args.order) == bool(args.ticket):
        raise InputError("orders lookup: give an ORDER or --ticket REF (one of them)")
    cfg = ctx.config.orders
    if args.ticket:
        result = refresh_for_ticket(ctx.desk.engine, cfg, args.ticket, now=utcnow())
    else:
        try:
            result = fetch_order(ctx.desk.engine, cfg, args.order, now=utcnow())
        except LookupFailed as exc:
            raise InputError(str(exc)) from None
    if not result.ok:
        raise InputError(result.line)
    print(result.line)
    return 0


def show_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.errors import NotFound
    from app.orders.facts import order_by_number, order_history, order_values
    from models import Customer, stored_id

    with ctx.desk.reader() as s:
        order = order_by_number(s, args.order)
        if order is None:
            raise NotFound(f"no order {args.order.strip().upper()!r}")
        cust = s.get(Customer, order.customer_id)
        out = {
            **order_values(order, cust.email if cust else None),
            "source": order.source,
            "refreshed_at": order.refreshed_at.isoformat() if order.refreshed_at else None,
            "revision": order.revision,
            "history": [
                {
                    "revision": h.revision,
                    "at": h.at.isoformat(),
                    "source": h.source,
                    "origin": h.origin,
                    "changes": json.loads(h.changes),
                }
                for h in order_history(s, stored_id(order))
            ],
        }
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0
