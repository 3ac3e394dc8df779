"""`esimdesk outbox send [--limit N]` and `esimdesk outbox list [--state S ...]`.

`send` delivers the queued customer messages that are due (SMTP from the
config's [smtp] section, else the Maildir outbox folder) and prints a JSON
summary: {"transport", "attempted", "sent", "retry", "failed", "items": [...]}.
`list` prints {"messages": [...]} (default: queued and failed ones).
`recall ID` takes back a message still held (`[outbox] hold_seconds` after a
person queued it) and prints {"recalled": ID, "ticket", "subject", "body"}:
the body is the draft to edit and send again.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.cli.numbers import LIMIT
from app.cli.output import emit_json
from app.errors import InputError

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers


STATES = ("queued", "sent", "failed")


def register(sub: Subparsers) -> None:
    p = sub.add_parser("outbox", help="deliver or list customer messages waiting in the outbox")
    p_sub = p.add_subparsers(dest="outbox_command", metavar="SUBCOMMAND", parser_class=type(p))
    p_sub.required = True
    send = p_sub.add_parser("send", help="deliver the queued messages that are due")
    send.add_argument("--limit", type=LIMIT, metavar="N", help="send at most N messages")
    send.set_defaults(func=send_handler)
    lst = p_sub.add_parser("list", help="list outbound messages (JSON)")
    lst.add_argument(
        "--state", action="append", choices=STATES, help="delivery state (repeatable; default queued and failed)"
    )
    lst.add_argument("--limit", type=LIMIT, default=200, metavar="N", help="at most N messages (default 200)")
    lst.set_defaults(func=list_handler)
    rec = p_sub.add_parser(
        "recall", help="take back a message that is still held, before it is sent (JSON with its text)"
    )
    rec.add_argument("id", type=int, metavar="ID", help="the message id (from `outbox list`)")
    rec.set_defaults(func=recall_handler)


def send_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.mail.outbox import deliver

    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be at least 1, got {args.limit}")
    summary = deliver(ctx.desk, ctx.config, limit=args.limit, db_url=ctx.db_url)
    emit_json(summary.as_dict())
    return 0


def list_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.mail.outbox import list_outbox

    if args.limit < 1:
        raise InputError(f"--limit must be at least 1, got {args.limit}")
    rows = list_outbox(ctx.desk, tuple(args.state or ("queued", "failed")), args.limit)
    emit_json({"messages": rows})
    return 0


def recall_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.tickets import utcnow
    from app.workflow.recall import recall

    actor = ctx.actor()
    with ctx.desk.session() as session:
        out = recall(session, actor, args.id, now=utcnow())
    emit_json(
        {
            "recalled": out.id,
            "ticket": out.reference,
            "template": out.template,
            "to": out.to,
            "subject": out.subject,
            "body": out.body,
        }
    )
    return 0
