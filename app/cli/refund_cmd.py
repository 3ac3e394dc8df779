"""`esimdesk refund`: decide a refund case from a facts file; write a chargeback
evidence pack.

    esimdesk refund decide --policy POLICY --facts FILE|-   (a policy file's id: esimium, airalo, ...)
    esimdesk refund decide --order ORDER [--reason R] [--facts FILE|-]
    esimdesk refund evidence REF [--out PATH] [--format md|pdf]
    esimdesk refund acknowledge REF [--version N]
    esimdesk refund approve REF [--amount X] [--fee Y] [--version N]
    esimdesk refund deny REF [--reason TEXT] [--version N]
    esimdesk refund investigation REF --result confirmed|not_confirmed --note TEXT [--version N]

`refund decide --policy` never opens the database (the shared refund decision contract);
`--order` reads the stored order (the shared orders contract, "Decide from an order").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from app.cli.output import emit_json
from app.errors import InputError

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.cli.context import CliContext, Handler, Subparsers
    from app.cli.ticket_cmd import TicketCall
    from app.identity import Actor


class _PolicyIds:
    """argparse `choices` read from the policy files when first asked (building
    the parser, with metavar set, loads none: every command starts quickly)."""

    def __contains__(self, value: object) -> bool:
        from app.refunds.policies import policy_ids

        return value in policy_ids()

    def __iter__(self) -> Iterator[str]:
        from app.refunds.policies import policy_choices

        return iter(policy_choices())


def register(sub: Subparsers) -> None:
    refund = sub.add_parser("refund", help="refund decisions and chargeback evidence")
    rsub = refund.add_subparsers(dest="refund_command", metavar="SUBCOMMAND", parser_class=type(refund))
    rsub.required = True

    dec = rsub.add_parser("decide", help="decide a refund case from a facts JSON file (prints the decision as JSON)")
    dec.add_argument(
        "--policy",
        choices=_PolicyIds(),
        metavar="POLICY",
        help="the refund policy: a policy file's id, e.g. esimium or airalo (with --facts)",
    )
    dec.add_argument("--facts", metavar="FILE", help="facts JSON file, or '-' for stdin")
    dec.add_argument("--order", metavar="ORDER", help="decide from the stored order (policy and facts from it)")
    dec.add_argument("--reason", metavar="R", help="with --order: the customer's stated reason")
    dec.set_defaults(func=decide_handler)

    ev = rsub.add_parser("evidence", help="write a chargeback evidence pack for a ticket")
    ev.add_argument("reference", metavar="REF", help="ticket reference, e.g. RFD-000123")
    ev.add_argument("--out", metavar="PATH", help="output file (default: evidence-REF.md in the current directory)")
    ev.add_argument(
        "--format",
        dest="fmt",
        choices=("md", "pdf"),
        default=None,
        help="md (default) or pdf; taken from --out's suffix when omitted",
    )
    ev.set_defaults(func=evidence_handler)
    _register_case_actions(rsub)


def _register_case_actions(rsub: Subparsers) -> None:
    """The refund case's decisions from the shell (issue 17): the same
    services the wizard calls (app/refund_cases.py)."""

    def action(name: str, help_: str, func: Handler) -> argparse.ArgumentParser:
        p = rsub.add_parser(name, help=help_)
        p.add_argument("reference", metavar="REF", help="refund ticket reference, e.g. RFD-2026-000123")
        p.add_argument("--version", type=int, metavar="N", help="the version you read (optimistic lock)")
        p.set_defaults(func=func)
        return p

    action(
        "acknowledge",
        "send the acknowledgment of a refund request (reference, next steps, review date)",
        acknowledge_handler,
    )
    ap = action(
        "approve", "approve a decided refund (case by case: with the amount and any processing fee)", approve_handler
    )
    ap.add_argument("--amount", metavar="X", help="the amount to refund (case by case; at most the amount paid)")
    ap.add_argument("--fee", metavar="Y", help="the processing fee deducted (only where the policy allows one)")
    dp = action("deny", "send the denial and close (case by case or unconfirmed: with --reason)", deny_handler)
    dp.add_argument("--reason", metavar="TEXT", help="why the refund is refused, as the customer will read it")
    ip = action("investigation", "record an investigation finding (who: you, when: now, result)", investigation_handler)
    ip.add_argument(
        "--result", required=True, choices=("confirmed", "not_confirmed"), help="what the investigation found"
    )
    ip.add_argument("--note", required=True, metavar="TEXT", help="what was checked and found")


def _case_run(args: argparse.Namespace, ctx: CliContext, call: TicketCall) -> int:
    """The ticket's summary after `call` (what a case step returns is not printed)."""
    from app.cli.ticket_cmd import _run

    def quiet(s: Session, a: Actor, now: datetime) -> None:
        call(s, a, now)

    return _run(args, ctx, quiet)


def acknowledge_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app import refund_cases

    return _case_run(
        args,
        ctx,
        lambda s, a, now: refund_cases.acknowledge(
            s, a, args.reference, now=now, config=ctx.config, expected_version=args.version
        ),
    )


def approve_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app import refund_cases

    return _case_run(
        args,
        ctx,
        lambda s, a, now: refund_cases.approve(
            s,
            a,
            args.reference,
            expected_version=args.version,
            now=now,
            config=ctx.config,
            amount=args.amount,
            fee=args.fee,
        ),
    )


def deny_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app import refund_cases

    return _case_run(
        args,
        ctx,
        lambda s, a, now: refund_cases.deny(
            s, a, args.reference, expected_version=args.version, now=now, config=ctx.config, reason=args.reason
        ),
    )


def investigation_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app import refund_cases

    return _case_run(
        args,
        ctx,
        lambda s, a, now: refund_cases.record_investigation(
            s, a, args.reference, result=args.result, note=args.note, expected_version=args.version, now=now
        ),
    )


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


def decide_handler(
    args: argparse.Namespace, ctx: CliContext
) -> int:  # the config only (the desk's rules): no database here
    from app.refunds import decide, rules_from_config
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
    decision = decide(args.policy, facts, rules_from_config(ctx.config))  # raises before anything is printed
    emit_json(decision)
    return 0


def _decide_from_order(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.orders.facts import decide_inputs
    from app.refunds import decide, rules_from_config
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
    decision = decide(
        policy, facts, rules_from_config(ctx.config)
    )  # validates the facts; raises before anything is printed
    emit_json({**decision, "facts_from": facts_from})
    return 0


def evidence_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.refunds.evidence import write_evidence_pack

    fmt = args.fmt or ("pdf" if (args.out or "").lower().endswith(".pdf") else "md")
    out = args.out or f"evidence-{args.reference}.{fmt}"
    ctx.actor().require("work_tickets", "write a chargeback evidence pack")  # customer data: staff only
    with ctx.desk.reader() as session:
        path = write_evidence_pack(session, args.reference, out, fmt=fmt)
    print(path)
    return 0
