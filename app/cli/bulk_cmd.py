"""Several tickets at once from the shell:

    esimdesk ticket assign REF [REF ...] LOGIN
    esimdesk ticket note REF [REF ...] TEXT
    esimdesk ticket close REF [REF ...] --reason R
    esimdesk ticket triage REF [REF ...] CATEGORY

One REF is exactly the single-ticket command. Several: each ticket goes
through the same service (app/bulk.py) in its own transaction, as the
console's bulk actions do; each ticket changed prints the single command's
JSON summary (one line each, in the order given), each refusal one line on
stderr naming the ticket; exit 2 when any was refused.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.cli.context import CliContext, Handler, Subparsers

# command -> (bulk action, the argument holding its value)
MANY: dict[str, tuple[str, str]] = {
    "assign": ("assign", "login"),
    "note": ("note", "text"),
    "close": ("close", "reason"),
    "triage": ("triage", "category"),
}


def allow_many(tsub: Subparsers) -> None:
    """Let the MANY commands take several REFs (their one-REF handler unchanged)."""
    for command, (action, attribute) in MANY.items():
        parser = tsub.choices[command]
        for a in parser._actions:
            if a.dest == "reference":
                a.nargs, a.metavar = "+", "REF"
        parser.set_defaults(func=_many(parser.get_default("func"), action, attribute))


def _many(one: Handler, action: str, attribute: str) -> Handler:
    def handler(args: argparse.Namespace, ctx: CliContext) -> int:
        refs = list(dict.fromkeys(r.strip().upper() for r in args.reference))
        if len(refs) == 1:
            args.reference = args.reference[0]
            return one(args, ctx)
        from app import bulk
        from app.cli.ticket_cmd import _summary
        from app.errors import InputError
        from app.tickets import get, utcnow

        if args.version is not None:
            raise InputError("--version is the version of one ticket: give it with one REF")
        results = bulk.run(
            ctx.desk,
            ctx.actor(),
            [bulk.Target(0, r, None) for r in refs],
            action,
            getattr(args, attribute),
            now=utcnow,
            config=ctx.config,
        )
        with ctx.desk.reader() as s:
            for r in results:
                if r.done:
                    print(json.dumps(_summary(get(s, r.reference))))
        refused = [r for r in results if not r.done]
        if refused:
            import sys

            for r in refused:
                print(f"{r.reference}: {r.text}", file=sys.stderr)
            return 2
        return 0

    return handler
