"""Escalation (policy steps 8 and 9): the request, the impartial senior
review, and the final response.

- An escalation is possible once the resolution was communicated (status
  resolution_communicated). One level only: a second request, or one that
  comes too early or after closure, is not refused with an error but logged
  on the complaint as correspondence (inbound message kept, "refused" event,
  a courteous reply queued) and reported in the returned outcome.
- The final-response clock (5 business days) starts at the request's receipt.
- Impartiality: only an active senior with no event at all on the original
  complaint, who was never its assignee, may take or be assigned the review.
  Supervisors may (re)assign only to such a senior. Every refused attempt is
  recorded on the escalation ("refused") and committed (guard.refuse).
- The final response closes the escalation and, with it, the complaint (that
  complaint event has no actor, so the reviewer never becomes its handler).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from app import history, tickets
from app.business_calendar import desk_calendar
from app.config import DeskConfig
from app.errors import AccessDenied, IllegalTransition, InputError, NotFound
from app.identity import Actor
from app.references import next_reference
from app.sla_clocks import FINAL_RESPONSE_BUSINESS_DAYS
from app.workflow import outbox, states
from app.workflow import templates as tpl
from app.workflow.guard import aware, finish, refresh_due, refuse
from models import Attachment, Message, Staff, Ticket, TicketEvent
from models.enums import CloseReason, MessageKind, Role, TicketKind, TicketStatus

S = TicketStatus
FINAL_STAGE = "final internal review stage"


@dataclass(frozen=True)
class EscalationOutcome:
    """What an escalation request led to.

    created: a new escalation ticket (`escalation`) was opened.
    linked_as_correspondence: refused; the request was kept on the complaint
    as correspondence, `reason` says why (`escalation` is the earlier one,
    for a second request)."""

    complaint: Ticket
    escalation: Ticket | None
    created: bool
    linked_as_correspondence: bool
    reason: str | None = None


def escalation_of(session: Session, complaint: Ticket) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.escalation_of_id == complaint.id)).first()


def _inbound(
    session: Session, t: Ticket, message: Message | None, body: str | None, now: datetime, documents: Sequence
) -> Message | None:
    """Attach the customer's request (and documents) to ticket t."""
    if message is None and not body and not documents:
        return None
    if message is None:
        c = outbox.customer_of(session, t)
        message = Message(
            kind=MessageKind.INBOUND.value,
            from_addr=c.email if c else None,
            from_name=c.name if c else None,
            subject=t.subject if t.kind == TicketKind.ESCALATION else f"Escalation: {t.reference}",
            body=body or "",
            created_at=now,
        )
    message.ticket_id = t.id
    message.kind = MessageKind.INBOUND.value
    if message.created_at is None:
        message.created_at = now
    session.add(message)
    session.flush()
    for doc in documents or ():
        if isinstance(doc, Attachment):
            doc.message_id = message.id
            session.add(doc)
            continue
        if isinstance(doc, dict):
            filename, ctype, data = (
                doc.get("filename", ""),
                doc.get("content_type", "application/octet-stream"),
                doc.get("data", b""),
            )
        else:
            filename, ctype, data = doc
        data = data.encode() if isinstance(data, str) else (data or b"")
        session.add(Attachment(message_id=message.id, filename=filename, content_type=ctype, size=len(data), data=data))
    return message


def create_escalation(
    session: Session,
    complaint_reference: str,
    *,
    received_at: datetime,
    reason: str | None,
    documents: Sequence = (),
    actor: Actor | None = None,
    message: Message | None = None,
    config: DeskConfig | None = None,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> EscalationOutcome:
    """The customer's escalation request for a complaint (intake passes the
    mail as `message`, actor None; an agent registering one passes `actor`).

    documents: Attachment rows, (filename, content_type, bytes) tuples or dicts.
    """
    aware(received_at, "received_at")
    now = aware(now or received_at)
    config = config or DeskConfig()  # the caller's config, else the built-in defaults (never a file)
    login = actor.login if actor else None
    if actor is not None:
        actor.require("work_tickets", "register escalations")
        if reason is None or not str(reason).strip():
            raise InputError("an escalation needs the customer's reason for not being satisfied")
    complaint = tickets.lock(session, complaint_reference, expected_version)
    if complaint.kind != TicketKind.COMPLAINT.value:
        raise IllegalTransition(f"{complaint.reference} is a {complaint.kind} ticket: only complaints can be escalated")
    reason_text = (str(reason).strip() if reason else "") or (
        message.body.strip() if message is not None and message.body else ""
    )
    earlier = escalation_of(session, complaint)
    if earlier is not None or complaint.status != S.RESOLUTION_COMMUNICATED:
        if earlier is not None:
            why = (
                f"{complaint.reference} was already escalated ({earlier.reference}): one level only, the {FINAL_STAGE}"
            )
            template, extra = tpl.SECOND_ESCALATION, {"escalation_reference": earlier.reference}
        else:
            why = f"{complaint.reference} is {complaint.status}: escalation needs a communicated resolution the customer is not satisfied with"
            template, extra = tpl.ESCALATION_NOT_POSSIBLE, {"stage": tpl.stage(complaint.status)}
        msg_in = _inbound(session, complaint, message, reason_text, now, documents)
        reply = outbox.queue(session, complaint, template, now=now, author=login, config=config, **extra)
        history.record(
            session,
            complaint.id,
            login,
            "refused",
            now,
            complaint.status,
            complaint.status,
            attempt="escalation",
            reason=why,
            correspondence=msg_in.id if msg_in else None,
            escalation=earlier.reference if earlier else None,
            message_id=reply.id if reply else None,
        )
        finish(complaint, login, now)
        return EscalationOutcome(complaint, earlier, created=False, linked_as_correspondence=True, reason=why)

    cal = desk_calendar(config)
    esc = Ticket(
        reference=next_reference(session, TicketKind.ESCALATION, cal.local_date(received_at).year),
        kind=TicketKind.ESCALATION.value,
        status=S.SUBMITTED.value,
        subject=f"Escalation: {complaint.reference}",
        description=reason_text or None,
        info_needed=None if reason_text else "reason",
        priority=min(complaint.priority, 1),
        region=complaint.region,
        customer_id=complaint.customer_id,
        order_id=complaint.order_id,
        escalation_of_id=complaint.id,
        received_at=received_at,
        final_response_due_at=cal.due_at(received_at, FINAL_RESPONSE_BUSINESS_DAYS),
        acknowledged_at=now,
        created_at=now,
        updated_at=now,
        updated_by=login,
    )
    refresh_due(esc)
    session.add(esc)
    session.flush()
    msg_in = _inbound(session, esc, message, reason_text if message is None else None, now, documents)
    history.record(
        session,
        esc.id,
        login,
        "created",
        now,
        None,
        esc.status,
        kind=esc.kind,
        complaint=complaint.reference,
        documents=len(documents or ()),
        request_message=msg_in.id if msg_in else None,
        final_response_due_at=esc.final_response_due_at,
    )
    ack = outbox.queue(
        session,
        esc,
        tpl.ESCALATION_ACKNOWLEDGMENT,
        now=now,
        author=login,
        config=config,
        complaint_reference=complaint.reference,
        final_response_due=tpl.customer_date(cal, esc.final_response_due_at),
    )
    history.record(
        session, esc.id, login, "acknowledged", now, esc.status, esc.status, message_id=ack.id if ack else None
    )
    before = complaint.status
    complaint.status = S.ESCALATED.value
    history.record(session, complaint.id, login, "escalated", now, before, complaint.status, escalation=esc.reference)
    finish(complaint, login, now)
    return EscalationOutcome(complaint, esc, created=True, linked_as_correspondence=False)


# -- impartiality ----------------------------------------------------------------
def _assigned_logins(session: Session, ticket_id: int) -> set[str]:
    out = set()
    for e in session.scalars(select(TicketEvent).where(history.of_ticket(ticket_id), TicketEvent.action == "assign")):
        after = history.detail_of(e).get("after")
        if after:
            out.add(after)
    return out


class Ineligible(str):
    """Why a person may not review an escalation: the words, and the reason's
    `code` for whoever words it differently (the ticket screen's "you handled
    this complaint"): "not_senior", "deactivated" or "handled" (acted on, or
    was assigned to, the complaint)."""

    code: str

    def __new__(cls, text: str, code: str) -> Ineligible:
        made = super().__new__(cls, text)
        made.code = code
        return made


def ineligibility(session: Session, escalation: Ticket, staff: Staff | Actor) -> Ineligible | None:
    """Why `staff` may not review `escalation` (None when eligible)."""
    login = staff.login
    if staff.role != Role.SENIOR.value:
        return Ineligible(f"{login} ({staff.role}) is not a senior reviewer", "not_senior")
    if isinstance(staff, Staff) and not staff.active:
        return Ineligible(f"{login} is deactivated", "deactivated")
    complaint = session.get(Ticket, escalation.escalation_of_id) if escalation.escalation_of_id else None
    if complaint is None:
        return None
    impartial = "the reviewer must not have been involved in the initial handling"
    if history.has_touched(session, complaint.id, login):
        return Ineligible(f"{login} acted on {complaint.reference}: {impartial}", "handled")
    if complaint.assignee_id == staff.id or login in _assigned_logins(session, complaint.id):
        return Ineligible(f"{login} was assigned to {complaint.reference}: {impartial}", "handled")
    return None


def reviewer_conflict(session: Session, complaint: Ticket, staff_id: int | None, login: str) -> str | None:
    """Why `login` may not handle `complaint` (assignee, details): they review
    its escalation, before or after taking the review (None when they may)."""
    if complaint.kind != TicketKind.COMPLAINT.value or staff_id is None:
        return None
    esc = escalation_of(session, complaint)
    if esc is not None and esc.reviewer_id == staff_id:
        return (
            f"{login} reviews {esc.reference}, the escalation of {complaint.reference}: the reviewer never "
            "handles the complaint itself (impartial review)"
        )
    return None


def eligible_reviewers(session: Session, escalation: Ticket) -> list[Staff]:
    seniors = session.scalars(
        select(Staff).where(Staff.role == Role.SENIOR.value, Staff.active.is_(True)).order_by(Staff.login)
    )
    return [s for s in seniors if ineligibility(session, escalation, s) is None]


def _escalation(
    session: Session,
    actor: Actor | None,
    reference: str,
    expected_version: int | None,
    doing: str,
    *,
    open_only: bool = True,
) -> Ticket:
    """The escalation, locked for this transaction, for a staff member to act on."""
    if actor is None:
        raise AccessDenied(f"{doing} needs a staff member")
    t = tickets.lock(session, reference, expected_version)
    if t.kind != TicketKind.ESCALATION.value:
        raise IllegalTransition(f"{t.reference} is a {t.kind} ticket, not an escalation")
    if open_only and t.status == S.CLOSED:
        raise IllegalTransition(f"{t.reference} is closed (final response given)")
    return t


def take_review(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig | None = None,
) -> Ticket:
    """A senior takes an escalation's review (submitted -> in_review)."""
    now = aware(now)
    t = _escalation(session, actor, reference, expected_version, "taking a review")
    if t.reviewer_id is not None:
        who = session.get(Staff, t.reviewer_id)
        raise IllegalTransition(
            f"{t.reference} is already reviewed by {who.login if who else t.reviewer_id}; a supervisor may reassign it"
        )
    if not actor.can("review_escalations"):
        refuse(
            session,
            t,
            actor.login,
            now,
            f"{actor.login} ({actor.role}) may not review escalations: seniors only",
            attempt="take_review",
        )
    why = ineligibility(session, t, actor)
    if why:
        refuse(session, t, actor.login, now, why, attempt="take_review")
    states.check_move(t, S.IN_REVIEW)
    before = t.status
    t.reviewer_id = t.assignee_id = actor.id
    t.status = S.IN_REVIEW.value
    history.record(session, t.id, actor.login, "review_taken", now, before, t.status, reviewer=actor.login)
    finish(t, actor.login, now)
    return t


def assign_reviewer(
    session: Session,
    actor: Actor,
    reference: str,
    login: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig | None = None,
) -> Ticket:
    """A supervisor assigns or reassigns an escalation to an eligible senior."""
    now = aware(now)
    t = _escalation(session, actor, reference, expected_version, "assigning a reviewer")
    if not actor.can("reassign"):
        refuse(
            session,
            t,
            actor.login,
            now,
            f"{actor.login} ({actor.role}) may not assign reviewers: supervisors only",
            attempt="assign_reviewer",
            target=login,
        )
    target = session.scalars(select(Staff).where(Staff.login == login)).first()
    if target is None:
        raise NotFound(f"no staff member with login {login!r}")
    if t.reviewer_id == target.id:
        raise IllegalTransition(f"{t.reference} is already reviewed by {login}")
    why = ineligibility(session, t, target)
    if why:
        refuse(session, t, actor.login, now, why, attempt="assign_reviewer", target=login)
    old = session.get(Staff, t.reviewer_id) if t.reviewer_id else None
    before = t.status
    t.reviewer_id = t.assignee_id = target.id
    if t.status == S.SUBMITTED:
        t.status = S.IN_REVIEW.value
    history.record(
        session,
        t.id,
        actor.login,
        "assign",
        now,
        before,
        t.status,
        before=old.login if old else None,
        after=target.login,
        role="reviewer",
    )
    finish(t, actor.login, now)
    return t


def final_response(
    session: Session,
    actor: Actor,
    reference: str,
    text: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
) -> Ticket:
    """Step 9: the reviewer's final response is queued; the escalation and
    its complaint close (final_response)."""
    now = aware(now)
    t = _escalation(session, actor, reference, expected_version, "a final response", open_only=False)
    if t.status != S.IN_REVIEW:
        raise IllegalTransition(f"{t.reference} is {t.status}: a final response is given in review (in_review)")
    if t.reviewer_id != actor.id:
        refuse(
            session,
            t,
            actor.login,
            now,
            f"only the reviewer of {t.reference} may give its final response",
            attempt="final_response",
        )
    if text is None or not str(text).strip():
        raise InputError("the final response is empty")
    states.check_close(t, CloseReason.FINAL_RESPONSE)
    complaint = tickets.lock(session, session.get(Ticket, t.escalation_of_id).reference, None)
    msg = outbox.queue(
        session,
        t,
        tpl.FINAL_RESPONSE,
        now=now,
        author=actor.login,
        config=config,
        response=str(text).strip(),
        complaint_reference=complaint.reference,
        reviewer_name=actor.name,
    )
    before = t.status
    t.final_response_at = t.closed_at = now
    t.status, t.close_reason = S.CLOSED.value, CloseReason.FINAL_RESPONSE.value
    history.record(
        session,
        t.id,
        actor.login,
        "final_response",
        now,
        before,
        t.status,
        close_reason=t.close_reason,
        message_id=msg.id if msg else None,
        final_response_due_at=t.final_response_due_at,
    )
    finish(t, actor.login, now)
    if complaint.status == S.ESCALATED:
        states.check_close(complaint, CloseReason.FINAL_RESPONSE)
        cbefore = complaint.status
        complaint.status, complaint.close_reason, complaint.closed_at = (
            S.CLOSED.value,
            CloseReason.FINAL_RESPONSE.value,
            now,
        )
        # actor None on purpose: the reviewer must never appear among the complaint's handlers
        history.record(
            session,
            complaint.id,
            None,
            "closed",
            now,
            cbefore,
            complaint.status,
            close_reason=complaint.close_reason,
            escalation=t.reference,
        )
        finish(complaint, None, now)
    return t
