"""`esimdesk ticket ...`: work one ticket from the shell (same services as the console).

    esimdesk ticket show REF                      JSON: the ticket, guidance, next actions, timeline
    esimdesk ticket ack REF                       acknowledge a complaint
    esimdesk ticket note REF TEXT                 internal note
    esimdesk ticket reply REF TEXT                customer-facing reply (queued)
    esimdesk ticket request-info REF TEXT         ask the customer for information
    esimdesk ticket move REF STATUS [--text T] [--reason R]
    esimdesk ticket assign REF LOGIN
    esimdesk ticket escalate REF --reason TEXT    register the customer's escalation request
    esimdesk ticket review REF                    a senior takes an escalation's review
    esimdesk ticket final REF TEXT                the reviewer's final response
    esimdesk ticket extend REF --to YYYY-MM-DD --reason TEXT
    esimdesk ticket close REF --reason accepted|no_reply|withdrawn|answered
    esimdesk ticket triage REF CATEGORY           close as out of scope with a redirect
    esimdesk ticket reopen REF                    reopen an inquiry as a complaint
    esimdesk ticket set REF FIELD VALUE           change an intake/contact detail
    esimdesk ticket merge REF --into REF          merge into another ticket of the same customer
Every changing command takes --version N (the version you read): a stale
version is refused, nothing overwritten.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from app.cli.numbers import ROW_ID, VERSION
from app.cli.output import emit_json
from app.export import iso_instant
from app.workflow.actions import TicketAction, cli_actions
from models.enums import TicketStatus
from models.tables import stored_id

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.cli.context import CliContext, Handler, Subparsers
    from app.identity import Actor
    from models import Ticket

# what a changing command does in its transaction: (session, actor, now) -> its result
TicketCall = Callable[["Session", "Actor", datetime], object]


def register(sub: Subparsers) -> None:
    p = sub.add_parser("ticket", help="work one ticket: show, ack, note, move, assign, escalate, extend, close, triage")
    tsub = p.add_subparsers(dest="ticket_command", metavar="ACTION", parser_class=type(p))
    tsub.required = True

    def cmd(name: str, help_: str, func: Handler, *, version: bool = True) -> argparse.ArgumentParser:
        c = tsub.add_parser(name, help=help_)
        c.add_argument("reference", metavar="REF")
        if version:
            c.add_argument("--version", type=VERSION, metavar="N", help="the version you read (optimistic lock)")
        c.set_defaults(func=func)
        return c

    cmd("show", "the ticket as JSON (with timeline, guidance and next actions)", show, version=False)
    for action in cli_actions():  # the ticket actions with a sub-command (app.workflow.actions)
        if action.cli is None:
            continue
        c = cmd(action.cli, action.cli_help, HANDLERS.get(action.id) or _calls(action))
        for arg in action.cli_args:
            if arg.name.startswith("-"):
                c.add_argument(
                    arg.name,
                    metavar=arg.metavar,
                    help=arg.help,
                    required=arg.required,
                    choices=list(arg.choices) if arg.choices else None,
                    type=VERSION if arg.version else str,
                    dest=arg.dest,
                )
            else:
                c.add_argument(arg.dest, metavar=arg.metavar, help=arg.help)
        if action.id in MORE_ARGS:
            MORE_ARGS[action.id](c)
    m = cmd("move", "move to another workflow state", _move)
    m.add_argument("status", metavar="STATUS", help=", ".join(s.value for s in TicketStatus))
    m.add_argument("--text", help="proposal / resolution text")
    m.add_argument("--reason", help="close reason when STATUS is closed")
    f = cmd("set", "change an intake or contact detail (name, email, phone, incident_date, region, ...)", set_field)
    f.add_argument("field", metavar="FIELD")
    f.add_argument("value", metavar="VALUE")
    s = cmd("attachment", "save one of the ticket's attachments (evidence) to a folder", save_attachment, version=False)
    s.add_argument("attachment_id", metavar="ID", type=ROW_ID, help="the id listed under attachments by `ticket show`")
    s.add_argument("--to", metavar="DIR", default=".", help="folder to write into (default: the current folder)")
    s.add_argument("--force", action="store_true", help="replace a file of the same name already in DIR")
    from app.cli.bulk_cmd import allow_many

    allow_many(tsub)  # assign, note, close, triage: several REFs at once (app/cli/bulk_cmd.py)


def ticket_json(session: Session, t: Ticket, actor: Actor | None = None) -> dict[str, object]:
    from app import history
    from app.ticket_facts import ticket_facts
    from app.workflow import actions, regions

    facts = ticket_facts(session, t)  # the same facts the ticket screen starts from
    c = facts.customer
    out: dict[str, object] = {
        "reference": t.reference,
        "kind": t.kind,
        "status": t.status,
        "version": t.version,
        "subject": t.subject,
        "description": t.description,
        "priority": t.priority,
        "region": t.region,
        "region_guidance": regions.guidance(t.region) if t.region else None,
        "incident_date": t.incident_date,
        "inquiry_reference": t.inquiry_reference,
        "info_needed": t.info_needed,
        "out_of_scope": t.out_of_scope,
        "close_reason": t.close_reason,
        "customer": {"name": c.name, "email": c.email, "phone": c.phone, "language": c.language} if c else None,
        "mail_flag": t.mail_flag,
        "follows": facts.follows,
        "assignee": facts.assignee,
        "reviewer": facts.reviewer,
        "escalation_of": facts.escalation_of.reference if facts.escalation_of else None,
        "escalation": facts.escalation,
        "received_at": iso_instant(t.received_at),
        "ack_due_at": iso_instant(t.ack_due_at),
        "acknowledged_at": iso_instant(t.acknowledged_at),
        "resolution_due_at": iso_instant(t.resolution_due_at),
        "resolution_communicated_at": iso_instant(t.resolution_communicated_at),
        "final_response_due_at": iso_instant(t.final_response_due_at),
        "final_response_at": iso_instant(t.final_response_at),
        "extensions": t.extensions,
        "paused_since": iso_instant(t.paused_since),
        "due_at": iso_instant(t.due_at),
        "due_clock": t.due_clock,
        "closed_at": iso_instant(t.closed_at),
        "updated_at": iso_instant(t.updated_at),
        "updated_by": t.updated_by,
        "handlers": history.handlers(session, stored_id(t)),
        "merged_from": facts.merged_from,
    }
    if actor is not None:
        out["next_actions"] = actions.next_actions(t, actor, session)
    out["attachments"] = _attachments_json(session, stored_id(t))
    out["timeline"] = _timeline_json(session, stored_id(t))
    return out


def _attachments_json(session: Session, ticket_id: int) -> list[dict[str, object]]:
    from app.mail.attachments import list_attachments
    from app.untrusted import inert

    return [
        {
            "id": a.id,
            "filename": inert(a.filename, single_line=True),
            "content_type": inert(a.content_type, single_line=True),
            "size": a.size,
            "stored": a.stored,
        }
        for a in list_attachments(session, ticket_id)
    ]


def _timeline_json(session: Session, ticket_id: int) -> list[dict[str, object]]:
    from app.workflow.messages import timeline

    return [
        {
            "kind": i.kind,
            "at": iso_instant(i.at),
            "actor": i.actor,
            "action": i.action,
            "subject": i.subject,
            "delivery": i.delivery,
            "text": i.text,
        }
        for i in timeline(session, ticket_id)
    ]


def _summary(t: Ticket) -> dict[str, object]:
    return {
        "reference": t.reference,
        "kind": t.kind,
        "status": t.status,
        "version": t.version,
        "due_at": iso_instant(t.due_at),
        "due_clock": t.due_clock,
        "close_reason": t.close_reason,
    }


def _calls(action: TicketAction) -> Handler:
    """The handler of a ticket action's sub-command: its service on REF with the
    value its arguments make (app.workflow.actions.CliArg), through `_run`."""
    service = action.service
    if service is None:
        raise ValueError(f"ticket action {action.id!r} has a sub-command but no service")

    def handler(args: argparse.Namespace, ctx: CliContext) -> int:
        value: list[object] = [getattr(args, a.dest) for a in action.cli_args if not a.keyword]
        keywords = {a.dest: getattr(args, a.dest) for a in action.cli_args if a.keyword}
        if len(value) > 1:
            value = [tuple(value)]
        return _run(
            args,
            ctx,
            lambda s, a, now: service(
                s, a, args.reference, *value, expected_version=args.version, now=now, config=ctx.config, **keywords
            ),
        )

    return handler


def _move(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.workflow import move

    return _run(
        args,
        ctx,
        lambda s, a, now: move(
            s,
            a,
            args.reference,
            args.status,
            expected_version=args.version,
            now=now,
            config=ctx.config,
            text=args.text,
            reason=args.reason,
        ),
    )


def _run(args: argparse.Namespace, ctx: CliContext, fn: TicketCall) -> int:
    from app.tickets import get, utcnow

    actor = ctx.actor()
    with ctx.desk.session() as session:
        result = fn(session, actor, utcnow())
        t = get(session, args.reference)
        out = _summary(t)
        if hasattr(result, "as_json"):  # a result that says what it did (a merge: what moved)
            result = result.as_json()
        if isinstance(result, dict):
            out.update(result)
    print(json.dumps(out))
    return 0


def show(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.tickets import resolve

    actor = ctx.actor()
    with ctx.desk.reader() as session:
        t = resolve(session, args.reference)  # a merged ticket's reference leads to the one it joined
        out = ticket_json(session, t, actor)
        if t.reference != args.reference.strip().upper():
            out["redirected_from"] = args.reference.strip().upper()
        emit_json(out)
    return 0


def escalate(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.errors import IllegalTransition
    from app.tickets import utcnow
    from app.workflow import create_escalation

    actor = ctx.actor()
    now = utcnow()
    with ctx.desk.session() as session:
        outcome = create_escalation(
            session,
            args.reference,
            received_at=now,
            reason=args.reason,
            actor=actor,
            config=ctx.config,
            now=now,
            expected_version=args.version,
        )
        out = {
            "complaint": outcome.complaint.reference,
            "complaint_status": outcome.complaint.status,
            "escalation": outcome.escalation.reference if outcome.escalation else None,
            "created": outcome.created,
            "linked_as_correspondence": outcome.linked_as_correspondence,
        }
        if outcome.escalation is not None and outcome.created:
            out["final_response_due_at"] = iso_instant(outcome.escalation.final_response_due_at)
    if not outcome.created:  # committed as correspondence; report the refusal
        raise IllegalTransition(
            f"escalation refused and kept as correspondence on {out['complaint']}: {outcome.reason}"
        )
    print(json.dumps(out))
    return 0


def reply(args: argparse.Namespace, ctx: CliContext) -> int:
    """`ticket reply REF TEXT [--attach FILE]...`: the files are read before anything is written."""
    from app.mail.attachments import read_outgoing
    from app.workflow import reply as wf_reply

    files = read_outgoing(args.attach, ctx.config.mail.max_attachment_bytes)
    return _run(
        args,
        ctx,
        lambda s, a, now: wf_reply(
            s,
            a,
            args.reference,
            args.text,
            expected_version=args.version,
            now=now,
            config=ctx.config,
            attachments=files,
        ),
    )


def extend(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.workflow import extend as extend_

    def fn(s: Session, a: Actor, now: datetime) -> dict[str, object]:
        t = extend_(
            s,
            a,
            args.reference,
            new_due=args.to,
            reason=args.reason,
            expected_version=args.version,
            now=now,
            config=ctx.config,
        )
        return {"resolution_due_at": iso_instant(t.resolution_due_at), "extensions": t.extensions}

    return _run(args, ctx, fn)


def set_field(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.errors import InputError
    from app.workflow import update_details

    value: object = args.value
    if args.field == "priority":
        try:
            value = int(args.value)
        except ValueError:
            raise InputError(f"priority must be 1, 2 or 3, got {args.value!r}") from None

    def fn(s: Session, a: Actor, now: datetime) -> dict[str, object]:
        changed = update_details(
            s, a, args.reference, expected_version=args.version, now=now, config=ctx.config, **{args.field: value}
        )
        return {"changed": changed}

    return _run(args, ctx, fn)


def _attach_option(c: argparse.ArgumentParser) -> None:
    c.add_argument(
        "--attach",
        action="append",
        metavar="FILE",
        default=[],
        help="attach a file (repeatable; [mail] max_attachment_bytes together)",
    )


# actions whose sub-command says more than the ticket's summary (or reads files first), and takes more
HANDLERS: dict[str, Handler] = {"reply": reply, "escalate": escalate, "extend": extend}
MORE_ARGS: dict[str, Callable[[argparse.ArgumentParser], None]] = {"reply": _attach_option}


def save_attachment(args: argparse.Namespace, ctx: CliContext) -> int:
    from pathlib import Path

    from app.errors import InputError, NotFound
    from app.mail.attachments import list_attachments
    from app.mail.attachments import save_attachment as save
    from app.tickets import get

    ctx.actor()  # staff only
    folder = Path(args.to)
    if not folder.is_dir():
        raise InputError(f"--to {folder}: no such folder")
    with ctx.desk.reader() as session:
        t = get(session, args.reference)
        if args.attachment_id not in {a.id for a in list_attachments(session, stored_id(t))}:
            raise NotFound(
                f"{t.reference} has no attachment {args.attachment_id} (see `esimdesk ticket show {t.reference}`)"
            )
        path = save(session, args.attachment_id, folder, force=args.force)
        reference = t.reference
    print(json.dumps({"reference": reference, "attachment": args.attachment_id, "path": str(path)}))
    return 0
