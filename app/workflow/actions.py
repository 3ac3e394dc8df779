"""The ticket actions, one table: what each is, who may use it, when it is
offered, the service that does it and how it is asked for.

Everything that offers a ticket action reads `TICKET_ACTIONS`: `next_actions`
(the console's "Next steps" and `ticket show`'s `next_actions`), the ticket
detail screen (its keys, footer, "why not" notices, prompts, previews and
confirmations, hence also the command palette and `?` help, which list the
screen's keys), the `esimdesk ticket` sub-commands that map onto an action,
and the CLI's command access. Adding an action is one `TicketAction` entry and
one service function `fn(session, actor, reference[, value], *,
expected_version, now, config)`.

The services enforce every rule anyway (role, state, version); `who` and
`when` only decide what to offer. Pass `session` to `next_actions` to filter
take_review by the impartiality rule. What an entry holds: TicketAction in
app/workflow/ticket_action.py (re-exported here).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app import labels
from app.errors import DeskError
from app.identity import Actor
from app.workflow import states
from app.workflow.assignment import assign
from app.workflow.complaints import acknowledge, close, communicate, extend, move, propose, request_info
from app.workflow.escalations import create_escalation, final_response, take_review
from app.workflow.merge import merge
from app.workflow.merge import offered as merge_offered
from app.workflow.messages import add_note, reply
from app.workflow.ticket_action import CliArg, Fields, Prompt, TicketAction
from app.workflow.triage import REDIRECT_TO, can_triage, reopen_as_complaint, triage
from models import Ticket
from models.enums import CloseReason, OutOfScope, TicketKind, TicketStatus

S = TicketStatus
K = TicketKind


# -- when each is offered -----------------------------------------------------------


def _work(actor: Actor) -> bool:
    return actor.can("work_tickets")


def _open(t: Ticket) -> bool:
    return t.status != S.CLOSED


def _complaint(t: Ticket) -> bool:
    return t.kind == K.COMPLAINT


def _reply_when(t: Ticket, actor: Actor, _s: Session | None) -> bool:
    if t.kind == K.ESCALATION:  # the reviewer, once the review is taken
        return _open(t) and t.reviewer_id == actor.id and t.status == S.IN_REVIEW
    return t.kind in (K.COMPLAINT, K.INQUIRY, K.REFUND) and _work(actor) and _open(t)


def _extend_when(t: Ticket, actor: Actor, _s: Session | None) -> bool:
    return (
        _complaint(t)
        and t.acknowledged_at is not None
        and t.resolution_communicated_at is None
        and _open(t)
        and t.status != S.ESCALATED
        and (actor.can("extend") or t.assignee_id == actor.id)
    )


def _close_when(t: Ticket, actor: Actor, _s: Session | None) -> bool:
    if t.kind == K.INQUIRY:
        return _open(t)
    return _complaint(t) and bool(states.CLOSE_REASONS.get(t.kind, {}).get(t.status)) and t.status != S.ESCALATED


def _take_review_when(t: Ticket, actor: Actor, session: Session | None) -> bool:
    if t.kind != K.ESCALATION or not _open(t) or t.reviewer_id is not None:
        return False
    if session is None:
        return True
    from app.workflow.escalations import ineligibility

    return ineligibility(session, t, actor) is None


def _assign_when(t: Ticket, actor: Actor, _s: Session | None) -> bool:
    if not _open(t):
        return False
    if t.kind == K.ESCALATION:
        return actor.can("reassign")
    return _work(actor) and (actor.can("reassign") or t.assignee_id is None)


# -- service functions the workflow has in another shape ------------------------------


def move_to_investigation(session: Session, actor: Actor, reference: str, **kw: Any) -> Ticket:
    return move(session, actor, reference, S.INVESTIGATION, **kw)


def extend_to(session: Session, actor: Actor, reference: str, value: tuple[Any, str], **kw: Any) -> Ticket:
    """`extend` with the value a prompt gives: (new due date, reason)."""
    new_due, reason = value
    return extend(session, actor, reference, new_due=new_due, reason=reason, **kw)


def escalate(
    session: Session,
    actor: Actor,
    reference: str,
    reason: str,
    *,
    expected_version: int | None = None,
    now: Any,
    config: Any,
) -> Any:
    """The customer's escalation request, registered from the ticket; a refusal
    is an error (nothing kept: the person still has the text)."""
    out = create_escalation(
        session,
        reference,
        received_at=now,
        reason=reason,
        actor=actor,
        config=config,
        now=now,
        expected_version=expected_version,
    )
    if not out.created:
        raise DeskError(out.reason or "escalation refused")
    return out


# -- prompts' options (from the ticket view: app.ticket_view.DetailData) ----------------


def _close_options(view: Any) -> list[tuple[str, str]]:
    return [(r, labels.close_reason(r)) for r in view.close_reasons]


def _triage_options(_view: Any) -> list[tuple[str, str]]:
    return [(c.value, f"{labels.words(c.value)} → {words}") for c, words in REDIRECT_TO.items()]


def _assign_options(view: Any) -> list[tuple[str, str]]:
    return list(view.reviewers if view.ticket.kind == K.ESCALATION else view.staff)


def _triage_confirm(f: Fields) -> str:
    redirect = {c.value: w for c, w in REDIRECT_TO.items()}.get(f["value"], "another channel")
    return (
        f"Triage {f['ref']} as out of scope ({labels.words(f['value'])}): it closes, and {f['who']} is "
        f"sent to {redirect}."
    )


TEXT = CliArg("text", metavar="TEXT")

# In the order "Next steps" and `next_actions` list them (the footer too).
TICKET_ACTIONS: tuple[TicketAction, ...] = (
    TicketAction(
        "acknowledge",
        "Acknowledge complaint",
        "a",
        service=acknowledge,
        who="work_tickets",
        when=lambda t, a, s: _complaint(t) and t.status == S.SUBMITTED,
        mail="acknowledge the complaint",
        done="acknowledged",
        cli="ack",
        cli_help="acknowledge a complaint (starts the resolution clock)",
    ),
    TicketAction(
        "request_info",
        "Request info",
        "f",
        service=request_info,
        who="work_tickets",
        when=lambda t, a, s: _complaint(t) and t.status in states.REQUEST_INFO_FROM,
        prompt=Prompt.TEXT,
        title="request information",
        placeholder="What do you need from the customer?",
        mail="request information; the clock waits for the customer",
        done="information requested",
        cli="request-info",
        cli_help="ask the customer for information",
        cli_args=(TEXT,),
    ),
    TicketAction(
        "note",
        "Note",
        "n",
        service=add_note,
        who="work_tickets",
        when=lambda t, a, s: True,
        prompt=Prompt.TEXT,
        title="internal note",
        placeholder="Note (never sent to the customer)",
        done="note added",
        cli="note",
        cli_help="add an internal note (never sent)",
        cli_args=(TEXT,),
    ),
    TicketAction(
        # into investigation from acknowledged or information gathering; going back
        # from a proposed resolution is the service's `move`, not offered here
        "investigate",
        "Investigate",
        "i",
        service=move_to_investigation,
        who="work_tickets",
        when=lambda t, a, s: (
            _complaint(t) and S.INVESTIGATION in states.allowed(t) and t.status != S.RESOLUTION_PROPOSED
        ),
        done="moved to investigation",
    ),
    TicketAction(
        "reply",
        "Reply",
        "r",
        service=reply,
        when=_reply_when,
        prompt=Prompt.REPLY,
        title="reply to the customer",
        mail="reply",
        done="reply queued",
        cli="reply",
        cli_help="queue a customer-facing reply",
        cli_args=(TEXT,),
    ),
    TicketAction(
        "propose",
        "Propose resolution",
        "p",
        service=propose,
        who="work_tickets",
        when=lambda t, a, s: _complaint(t) and t.status == S.INVESTIGATION,
        prompt=Prompt.TEXT,
        title="propose a resolution",
        placeholder="The proposed resolution",
        mail="propose a resolution",
        done="resolution proposed",
    ),
    TicketAction(
        "communicate",
        "Send resolution",
        "m",
        service=communicate,
        who="work_tickets",
        when=lambda t, a, s: _complaint(t) and t.status == S.RESOLUTION_PROPOSED,
        prompt=Prompt.TEXT,
        title="communicate the resolution",
        placeholder="Resolution as sent to the customer",
        initial="proposal",
        mail="send the resolution",
        done="resolution communicated",
    ),
    TicketAction(
        "extend",
        "Extend deadline",
        "x",
        service=extend_to,
        who="work_tickets",
        when=_extend_when,
        prompt=Prompt.EXTEND,
        title="extend the resolution deadline",
        mail="extend the resolution deadline",
        done="deadline extended",
        cli="extend",
        cli_help="extend a complaint's resolution deadline",
        cli_args=(CliArg("--to", metavar="YYYY-MM-DD"), CliArg("--reason")),
    ),
    TicketAction(
        "escalate",
        "Escalate",
        "e",
        service=escalate,
        who="work_tickets",
        when=lambda t, a, s: _complaint(t) and t.status == S.RESOLUTION_COMMUNICATED,
        prompt=Prompt.TEXT,
        title="escalate",
        placeholder="The customer's reason for escalating",
        mail="escalate for an impartial review",
        done="escalated",
        cli="escalate",
        cli_help="register the customer's escalation request",
        cli_args=(CliArg("--reason", help="why the customer is not satisfied"),),
    ),
    TicketAction(
        "close",
        "Close ticket",
        "c",
        service=close,
        who="work_tickets",
        when=_close_when,
        prompt=Prompt.CHOICE,
        title="close as…",
        options=_close_options,
        none_left="{ref} cannot be closed while it is {status}",
        none_left_severity="error",
        confirm="Close {ref} ({who}) as “{choice}”? It leaves the queue; only a supervisor can reopen it.",
        done="closed ({choice})",
        cli="close",
        cli_help="close a complaint or inquiry",
        cli_args=(CliArg("--reason", choices=tuple(r.value for r in CloseReason)),),
    ),
    TicketAction(
        "triage",
        "Triage out of scope",
        "t",
        service=triage,
        who="triage",
        when=lambda t, a, s: can_triage(t),
        prompt=Prompt.CHOICE,
        title="out of scope because…",
        options=_triage_options,
        confirm=_triage_confirm,
        done="triaged out of scope",
        cli="triage",
        cli_help="close as out of scope with a courteous redirect",
        cli_args=(CliArg("category", metavar="CATEGORY", help=", ".join(c.value for c in OutOfScope)),),
    ),
    TicketAction(
        "reopen",
        "Reopen as complaint",
        "o",
        service=reopen_as_complaint,
        who="triage",
        when=lambda t, a, s: t.kind == K.INQUIRY and _work(a),
        done="reopened as a complaint",
        cli="reopen",
        cli_help="reopen a (triaged) inquiry as a complaint, keeping its receipt time",
        cli_args=(CliArg("--reason", required=False, keyword=True),),
    ),
    TicketAction(
        "refund_wizard",
        "Refund wizard",
        "w",
        who="refund_decide",
        prompt=Prompt.SCREEN,
        when=lambda t, a, s: t.kind == K.REFUND and _work(a) and _open(t),
    ),
    TicketAction(
        "assign",
        "Assign",
        "A",
        service=assign,
        when=_assign_when,
        prompt=Prompt.CHOICE,
        title="assign to…",
        options=_assign_options,
        none_left="nobody can take this ticket",
        done="assigned to {value}",
        cli="assign",
        cli_help="assign to a staff member (escalations: impartial senior only)",
        cli_args=(CliArg("login", metavar="LOGIN"),),
    ),
    TicketAction(
        "take_review",
        "Take review",
        "v",
        service=take_review,
        who="review_escalations",
        when=_take_review_when,
        done="review taken",
        cli="review",
        cli_help="take an escalation's review (seniors)",
    ),
    TicketAction(
        "final_response",
        "Final response",
        "F",
        service=final_response,
        when=lambda t, a, s: t.kind == K.ESCALATION and _open(t) and t.reviewer_id == a.id and t.status == S.IN_REVIEW,
        prompt=Prompt.TEXT,
        title="final response",
        placeholder="The final response to the customer",
        confirm="Final response on {ref} to {who}: the escalation and its complaint close; this cannot be undone once sent.",
        done="final response queued",
        cli="final",
        cli_help="give an escalation's final response",
        cli_args=(TEXT,),
    ),
    TicketAction(  # not a workflow step: the ticket view offers it when the customer has a ticket this one may join
        "merge",
        "Merge into…",
        "J",
        service=merge,
        who="work_tickets",
        when=lambda t, a, s: merge_offered(t, a),
        step=False,
        prompt=Prompt.CHOICE,
        title="merge into…",
        options=lambda view: view.merge_targets,
        none_left="no other open ticket of this customer can take this one",
        confirm="Merge {ref} into {value}, both from {who}? {ref}'s mail, notes and history join {value}, which keeps "
        "the earliest clocks; {ref} closes and its reference leads to {value}. Nothing already sent goes out twice.",
        done="merged into {value}; its reference leads there",
        cli="merge",
        cli_help="merge this ticket into another of the same customer (its reference then leads there)",
        cli_args=(
            CliArg("--into", metavar="REF", help="the ticket that stays (it keeps the earliest clocks)"),
            CliArg(
                "--into-version",
                metavar="N",
                help="the version of --into you read (optimistic lock)",
                required=False,
                keyword=True,
                version=True,
            ),
        ),
    ),
)

BY_ID: dict[str, TicketAction] = {a.id: a for a in TICKET_ACTIONS}
ACTIONS: tuple[str, ...] = tuple(BY_ID)  # the ids, in order


def cli_actions() -> list[TicketAction]:
    """The actions with an `esimdesk ticket` sub-command."""
    return [a for a in TICKET_ACTIONS if a.cli]


def next_actions(ticket: Ticket, actor: Actor, session: Session | None = None) -> list[str]:
    """The ids of the workflow steps offered now, in the table's order."""
    return [a.id for a in TICKET_ACTIONS if a.step and a.offered(ticket, actor, session)]


__all__ = [
    "ACTIONS",
    "BY_ID",
    "TEXT",
    "TICKET_ACTIONS",
    "CliArg",
    "Fields",
    "Prompt",
    "TicketAction",
    "cli_actions",
    "escalate",
    "extend_to",
    "move_to_investigation",
    "next_actions",
]
