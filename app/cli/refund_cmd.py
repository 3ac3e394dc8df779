"""`esimdesk refund`: decide a refund case from a facts file; write a chargeback
evidence pack.

    esimdesk refund decide --policy {esimium|airalo} --facts FILE|-
    esimdesk refund evidence REF [--out PATH] [--format md|pdf]

`refund decide` never opens the database (contracts/refund-decision.md).
"""
from __future__ import annotations

import json
import sys

from app.errors import InputError

POLICIES = ("esimium", "airalo")


def register(sub) -> None:
    refund = sub.add_parser("refund", help="refund decisions and chargeback evidence")
    rsub = refund.add_subparsers(dest="refund_command", metavar="SUBCOMMAND", parser_class=type(refund))
    rsub.required = True

    dec = rsub.add_parser("decide", help="decide a refund case from a facts JSON file (prints the decision as JSON)")
    dec.add_argument("--policy", required=True, choices=POLICIES, help="the refund policy")
    dec.add_argument("--facts", required=True, metavar="FILE", help="facts JSON file, or '-' for stdin")
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


def decide_handler(args, ctx) -> int:  # the config only (the desk's rules): no database here
    from app.refunds import decide, rules_from_config
    from app.refunds.facts import load_facts_text

    source = "stdin" if args.facts == "-" else args.facts
    facts = load_facts_text(_read_facts_text(args.facts), source=source)
    decision = decide(args.policy, facts, rules_from_config(ctx.config))  # raises before anything is printed
    sys.stdout.write(json.dumps(decision, ensure_ascii=False) + "\n")
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
