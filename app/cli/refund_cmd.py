"""`esimdesk refund`: decide a refund case from a facts file; write a chargeback
evidence pack.

    esimdesk refund decide --policy {esimium|airalo} --facts FILE|-
    esimdesk refund decide --order ORDER [--reason R] [--facts FILE|-]
    esimdesk refund evidence REF [--out PATH] [--format md|pdf]

`refund decide --policy` never opens the database (contracts/refund-decision.md);
`--order` reads the stored order (contracts/orders.md "Decide from an order").
"""
from __future__ import annotations

import json
import sys

from app.cli.output import emit_json
from app.errors import InputError

POLICIES = ("esimium", "airalo")


def register(sub) -> None:
    refund = sub.add_parser("refund", help="refund decisions and chargeback evidence")
    rsub = refund.add_subparsers(dest="refund_command", metavar="SUBCOMMAND", parser_class=type(refund))
    rsub.required = True

    dec = rsub.add_parser("decide", help="decide a refund case from a facts JSON file (prints the decision as JSON)")
    dec.add_argument("--policy", choices=POLICIES, help="the refund policy (with --facts)")
    dec.add_argument("--facts", metavar="FILE", help="facts JSON file, or '-' for stdin")
    dec.add_argument("--order", metavar="ORDER", help="decide from the stored order (policy and facts from it)")
    dec.add_argument("--reason", metavar="R", help="with --order: the customer's stated reason")
    dec.set_defaults(func=decide_handler)

    ev = rsub.add_parser("evidence", help="write a chargeback evidence pack for a ticket")
    ev.add_argument("reference", metavar="REF", help="ticket reference, e.g. RFD-000123")
    ev.add_argument("--out", metavar="PATH", help="output file (default: evidence-REF.md in the current directory)")
    ev.add_argument("--format", dest="fmt", choices=("md", "pdf"), default=None,
                    help="md (default) or pdf; taken from --out's suffix when omitted")
    ev.set_defaults(func=evidence_handler)


def _read_facts_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise InputError(f"facts file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"facts file is a directory: {path}") from None
    except UnicodeDecodeError:
        raise InputError(f"facts file is not UTF-8 text: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read facts file {path}: {exc.strerror or exc}") from None


def decide_handler(args, ctx) -> int:
    from app.refunds import decide
    from app.refunds.facts import load_facts_text

    if args.order is not None:
        if args.policy is not None:
            raise InputError("refund decide: --order takes the policy from the order; drop --policy")
        return _decide_from_order(args, ctx)
    if args.policy is None or args.facts is None:
        raise InputError("refund decide: give --policy and --facts, or --order")
    if args.reason is not None:
        raise InputError("refund decide: --reason goes with --order (put the reason in the facts file)")
    source = "stdin" if args.facts == "-" else args.facts
    facts = load_facts_text(_read_facts_text(args.facts), source=source)
    decision = decide(args.policy, facts)  # raises before anything is printed
    emit_json(decision)
    return 0


def _decide_from_order(args, ctx) -> int:
    from app.orders.facts import decide_inputs
    from app.refunds import decide
    from app.refunds.facts import REASONS
    from app.tickets import utcnow

    if args.reason is not None and args.reason not in REASONS:
        raise InputError(f"--reason {args.reason!r} is not a reason (e.g. non_delivery, technical_failure, other)")
    file_facts = None
    if args.facts is not None:
        source = "stdin" if args.facts == "-" else args.facts
        try:
            file_facts = json.loads(_read_facts_text(args.facts))
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
        if not isinstance(file_facts, dict):
            raise InputError(f"{source}: facts must be a JSON object")
    with ctx.desk.reader() as session:
        policy, facts, facts_from = decide_inputs(session, args.order, args.reason, file_facts, utcnow())
    decision = decide(policy, facts)  # validates the facts; raises before anything is printed
    sys.stdout.write(json.dumps({**decision, "facts_from": facts_from}, ensure_ascii=False) + "\n")
    return 0


def evidence_handler(args, ctx) -> int:
    from app.refunds.evidence import write_evidence_pack

    fmt = args.fmt or ("pdf" if (args.out or "").lower().endswith(".pdf") else "md")
    out = args.out or f"evidence-{args.reference}.{fmt}"
    ctx.actor().require("work_tickets", "write a chargeback evidence pack")  # customer data: staff only
    with ctx.desk.reader() as session:
        path = write_evidence_pack(session, args.reference, out, fmt=fmt)
    print(path)
    return 0
