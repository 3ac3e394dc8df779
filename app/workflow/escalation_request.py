"""The customer's escalation request for a complaint (policy step 8).

An escalation is possible once the resolution was communicated (status
resolution_communicated). One level only: a second request, or one that comes
too early or after closure, is not refused with an error but logged on the
complaint as correspondence (inbound message kept, "refused" event, a
courteous reply queued) and reported in the returned outcome. The
final-response clock (5 business days) starts at the request's receipt.
The review and the final response: app/workflow/escalations.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import select
from sqlmodel import Session, col

from app import history, tickets
from app.business_calendar import BusinessCalendar, desk_calendar
from app.config import DeskConfig
from app.errors import IllegalTransition, InputError
from app.identity import Actor
from app.references import next_reference
from app.sla_clocks import FINAL_RESPONSE_BUSINESS_DAYS
from app.workflow import outbox
from app.workflow import templates as tpl
from app.workflow.guard import aware, finish, refresh_due
from models import Attachment, Message, Ticket
from models.enums import MessageKind, TicketKind, TicketStatus
from models.tables import stored_id

S = TicketStatus
FINAL_STAGE = "final internal review stage"


class DocumentFile(TypedDict, total=False):
    """A document sent with the request, as a mapping."""

    filename: str
    content_type: str
    data: bytes | str | None


# a document sent with an escalation request: a stored row, (filename, content_type, data) or a mapping
Document = Attachment | tuple[str, str, bytes | str | None] | DocumentFile


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
    return session.scalars(select(Ticket).where(col(Ticket.escalation_of_id) == complaint.id)).first()


def _inbound(
    session: Session,
    t: Ticket,
    message: Message | None,
    body: str | None,
    now: datetime,
    documents: Sequence[Document],
) -> Message | None:
    """Attach the customer's request (and documents) to ticket t."""
    if message is None and not body and not documents:
        return None
    if message is None:
        c = outbox.customer_of(session, t)
        message = Message(
            ticket_id=stored_id(t),
            kind=MessageKind.INBOUND.value,
            from_addr=c.email if c else None,
            from_name=c.name if c else None,
            subject=t.subject if t.kind == TicketKind.ESCALATION else f"Escalation: {t.reference}",
            body=body or "",
            created_at=now,
        )
    message.ticket_id = stored_id(t)
    message.kind = MessageKind.INBOUND.value
    created: datetime | None = message.created_at  # a table model is not validated: intake's row may lack it
    if created is None:
        message.created_at = now
    session.add(message)
    session.flush()
    for doc in documents or ():
        if isinstance(doc, Attachment):
            doc.message_id = stored_id(message)
            session.add(doc)
            continue
        if isinstance(doc, dict):
            filename, ctype, raw = (
                doc.get("filename", ""),
                doc.get("content_type", "application/octet-stream"),
                doc.get("data", b""),
            )
        else:
            filename, ctype, raw = doc
        data = raw.encode() if isinstance(raw, str) else (raw or b"")
        session.add(
            Attachment(message_id=stored_id(message), filename=filename, content_type=ctype, size=len(data), data=data)
        )
    return message


def create_escalation(
    session: Session,
    complaint_reference: str,
    *,
    received_at: datetime,
    reason: str | None,
    documents: Sequence[Document] = (),
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
        msg_in = _inbound(session, complaint, message, reason_text, now, documents)
        return _refuse_escalation(session, complaint, earlier, msg_in, login=login, now=now, config=config)

    cal = desk_calendar(config)
    esc = _escalation_ticket(session, complaint, cal, received_at, reason_text, login=login, now=now)
    msg_in = _inbound(session, esc, message, reason_text if message is None else None, now, documents)
    history.record(
        session,
        stored_id(esc),
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
        session, stored_id(esc), login, "acknowledged", now, esc.status, esc.status, message_id=ack.id if ack else None
    )
    before = complaint.status
    complaint.status = S.ESCALATED.value
    history.record(
        session, stored_id(complaint), login, "escalated", now, before, complaint.status, escalation=esc.reference
    )
    finish(complaint, login, now)
    return EscalationOutcome(complaint, esc, created=True, linked_as_correspondence=False)


def _refuse_escalation(
    session: Session,
    complaint: Ticket,
    earlier: Ticket | None,
    msg_in: Message | None,
    *,
    login: str | None,
    now: datetime,
    config: DeskConfig,
) -> EscalationOutcome:
    """A second request, or one too early or after closure: kept on the
    complaint as correspondence, a "refused" event, a courteous reply queued."""
    if earlier is not None:
        why = f"{complaint.reference} was already escalated ({earlier.reference}): one level only, the {FINAL_STAGE}"
        template, extra = tpl.SECOND_ESCALATION, {"escalation_reference": earlier.reference}
    else:
        why = f"{complaint.reference} is {complaint.status}: escalation needs a communicated resolution the customer is not satisfied with"
        template, extra = tpl.ESCALATION_NOT_POSSIBLE, {"stage": tpl.stage(complaint.status)}
    reply = outbox.queue(session, complaint, template, now=now, author=login, config=config, **extra)
    history.record(
        session,
        stored_id(complaint),
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


def _escalation_ticket(
    session: Session,
    complaint: Ticket,
    cal: BusinessCalendar,
    received_at: datetime,
    reason_text: str,
    *,
    login: str | None,
    now: datetime,
) -> Ticket:
    """The new escalation ticket (flushed): acknowledged at once, its
    final-response clock running from the request's receipt."""
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
    return esc
