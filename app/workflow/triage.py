"""Out-of-scope triage and reopening a misclassified message as a complaint.

Triage applies to an open inquiry, or to a complaint not yet acknowledged
(status submitted): it becomes an inquiry closed as out_of_scope with the
category, its acknowledgment deadline is cleared (no complaint clock runs for
an out-of-scope message; the event keeps the old value), and a courteous
redirect naming where to go is queued. Seniors cannot triage (role).

reopen_as_complaint: an inquiry (open, or closed as out_of_scope/answered)
becomes a complaint in status submitted, keeping its reference and its
original received_at; the acknowledgment clock is computed from that receipt
time (so it may already be breached, honestly).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app import history
from app.business_calendar import desk_calendar
from app.config import DeskConfig
from app.errors import IllegalTransition, InputError
from app.identity import Actor
from app.sla_clocks import ACK_BUSINESS_DAYS
from app.workflow import outbox
from app.workflow import templates as tpl
from app.workflow.guard import aware, begin, finish
from app.workflow.intake import info_needed_of, problems_of_ticket
from app.workflow.messages import write_note
from models import Ticket, stored_id
from models.enums import CloseReason, OutOfScope, TicketKind, TicketStatus

S = TicketStatus

# where each category is sent (also in the templates' text)
REDIRECT_TO: dict[OutOfScope, str] = {
    OutOfScope.THIRD_PARTY_PLAN: "the eSIM carrier or provider the plan was bought from",
    OutOfScope.HARDWARE: "the device manufacturer (or the retailer)",
    OutOfScope.PROVIDER_REFUND: "the eSIM provider the plan was bought from, under its terms",
    OutOfScope.GENERAL_INQUIRY: "our standard support channel and FAQ",
    OutOfScope.MISINFORMATION: "the source of the information",
}


def parse_category(category: str | OutOfScope) -> OutOfScope:
    try:
        return OutOfScope(str(category).strip().lower().replace("-", "_"))
    except ValueError:
        raise InputError(
            f"unknown out-of-scope category {category!r} (one of: {', '.join(c.value for c in OutOfScope)})"
        ) from None


def can_triage(t: Ticket) -> bool:
    return (t.kind == TicketKind.INQUIRY and t.status != S.CLOSED) or (
        t.kind == TicketKind.COMPLAINT and t.status == S.SUBMITTED
    )


def triage(
    session: Session,
    actor: Actor,
    reference: str,
    category: str | OutOfScope,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
    note: str | None = None,
) -> Ticket:
    now = aware(now)
    cat = parse_category(category)
    t = begin(session, actor, reference, expected_version, "triage", "triage messages")
    if not can_triage(t):
        raise IllegalTransition(
            f"{t.reference} ({t.kind}) is {t.status}: only an open inquiry or a complaint not yet acknowledged can be triaged out of scope"
        )
    if note:
        write_note(session, t, actor.login, note, now)
    before: dict[str, Any] = {"kind": t.kind, "status": t.status, "ack_due_at": t.ack_due_at}
    t.kind = TicketKind.INQUIRY.value
    t.out_of_scope = cat.value
    t.ack_due_at = None
    t.info_needed = None
    msg = outbox.queue(session, t, tpl.out_of_scope_template(cat), now=now, author=actor.login, config=config)
    t.status, t.close_reason, t.closed_at = S.CLOSED.value, CloseReason.OUT_OF_SCOPE.value, now
    history.record(
        session,
        stored_id(t),
        actor.login,
        "triaged",
        now,
        before["status"],
        t.status,
        category=cat.value,
        redirect_to=REDIRECT_TO[cat],
        before=before,
        after={"kind": t.kind, "status": t.status},
        close_reason=t.close_reason,
        message_id=msg.id if msg else None,
    )
    finish(t, actor.login, now)
    return t


def reopen_as_complaint(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
    reason: str | None = None,
) -> Ticket:
    now = aware(now)
    t = begin(session, actor, reference, expected_version, "triage", "reopen messages as complaints")
    if t.kind != TicketKind.INQUIRY:
        raise IllegalTransition(f"{t.reference} is a {t.kind} ticket: only an inquiry can be reopened as a complaint")
    if t.status == S.CLOSED and t.close_reason not in (CloseReason.OUT_OF_SCOPE, CloseReason.ANSWERED):
        raise IllegalTransition(
            f"{t.reference} was closed as {t.close_reason}: only out_of_scope or answered inquiries can be reopened"
        )
    cal = desk_calendar(config)
    before: dict[str, Any] = {
        "kind": t.kind,
        "status": t.status,
        "out_of_scope": t.out_of_scope,
        "close_reason": t.close_reason,
    }
    t.kind = TicketKind.COMPLAINT.value
    t.status = S.SUBMITTED.value
    t.out_of_scope = t.close_reason = t.closed_at = None
    t.ack_due_at = cal.due_at(t.received_at, ACK_BUSINESS_DAYS)
    t.info_needed = info_needed_of(problems_of_ticket(session, t))
    history.record(
        session,
        stored_id(t),
        actor.login,
        "reopened",
        now,
        before["status"],
        t.status,
        before=before,
        after={"kind": t.kind, "status": t.status},
        reason=reason,
        received_at=t.received_at,
        ack_due_at=t.ack_due_at,
        info_needed=t.info_needed,
    )
    finish(t, actor.login, now)
    return t
