"""Routing one parsed message: a new ticket, a link to an existing one, or
quarantine (the shared intake contract); `route_message` runs in the caller's
transaction (app.mail.ingest, and a quarantined message released).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlmodel import Session, col

from app import tickets
from app.config import DeskConfig
from app.mail.attachments import store_inbound
from app.mail.machine_signs import from_this_desk
from app.mail.parse import ParsedMessage, storable
from app.mail.route import Intent, classify, threads_by_subject
from app.prepared import Prepared
from models import Customer, Message, Quarantine, Ticket, table_of

CREATED, LINKED, DUPLICATE, QUARANTINED = "created", "linked", "duplicate", "quarantined"


def _thread_ticket(session: Session, parsed: ParsedMessage) -> str | None:
    """The reference of the ticket whose stored message this one answers (In-Reply-To/References)."""
    ids = [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i]
    if not ids:
        return None
    return (
        session.connection()
        .execute(
            select(col(Ticket.reference))
            .join(Message, col(Message.ticket_id) == col(Ticket.id))
            .where(col(Message.message_id).in_(ids))
            .order_by(col(Message.id).desc())
            .limit(1)
        )
        .scalar()
    )


_KIND_OF = Prepared(select(col(Ticket.kind)).where(col(Ticket.reference) == bindparam("reference")))


def _kind_of(session: Session, reference: str) -> str | None:
    """The kind of ticket `reference`, None when there is no such ticket."""
    kind: str | None = _KIND_OF.scalar(session, {"reference": reference})
    return kind


def _subject_ticket(session: Session, intent: Intent) -> str | None:
    return next((ref for ref in intent.references if _kind_of(session, ref) is not None), None)


def route_message(
    session: Session,
    parsed: ParsedMessage,
    *,
    received: datetime,
    now: datetime,
    config: DeskConfig,
    dedupe: str,
    forced_kind: str | None = None,
    raw: bytes | None = None,
    source: str = "",
) -> tuple[str, str]:
    """Create or link the ticket for `parsed` and store the message with its
    attachments; returns (result, ticket reference), or ("quarantined",
    reason) when the message is held (in this transaction; needs `raw`).
    `forced_kind` skips the routing rules (a quarantined message released as
    a new ticket).

    Mail from machines (app.mail.machines) joins a ticket as an automatic
    reply or is held. A reply joins its ticket only from that ticket's
    customer: a stranger's mail becomes a new ticket (or is held, `[mail]
    stranger`) and the quoted ticket gets a staff note. A customer's mail to
    a closed ticket reopens it within `[mail] reopen_days`, else starts a new
    ticket linked to it."""
    from app.mail import tickets as wf
    from app.workflow import messages as wf_messages

    intent = classify(parsed.subject, parsed.body)
    row = wf.inbound_row(parsed, dedupe, now)
    if not parsed.automatic and (looped := from_this_desk(parsed.from_addr, config)):
        parsed = replace(parsed, automatic=looped)  # the desk's own mail come back: never answered
    if forced_kind is None and parsed.automatic and raw is not None:
        from app.mail.machines import route_machine_mail

        result, ticket_id, reference, message_id = route_machine_mail(
            session, parsed, intent, row, thread=_thread_ticket(session, parsed), now=now
        )
        if result == QUARANTINED or ticket_id is None or message_id is None:
            return _hold(session, raw, source, parsed, dedupe, reference, now)
        store_inbound(session, ticket_id, message_id, parsed, now)
        return LINKED, reference
    turned: dict[str, list[str]] = {"stranger": [], "closed": []}
    if forced_kind is None and (
        intent.kind == "escalation" or intent.references or parsed.in_reply_to or parsed.references
    ):
        routed = _route_existing(session, parsed, intent, row, received=received, now=now, config=config, turned=turned)
        if routed is not None:
            result, ticket_id, reference, message_id = routed
            store_inbound(session, ticket_id, message_id, parsed, now)
            return result, reference
    if turned["stranger"] and config.mail.stranger == "quarantine" and raw is not None:
        reason = f"sender does not match {turned['stranger'][0]}"
        for ref in turned["stranger"]:
            wf_messages.note_stranger(session, ref, now=now, outcome="the message is held in quarantine for review")
        return _hold(session, raw, source, parsed, dedupe, reason, now)
    # a new ticket (a follow-up of a closed one is an inquiry, for triage)
    kind = forced_kind or ("inquiry" if intent.kind == "escalation" or turned["closed"] else intent.kind)
    lang = _language(parsed, config)  # a new customer is created with it (no second statement)
    auto = config.refunds.auto_acknowledge  # a refund is acknowledged below: inserted as that leaves it
    kw: dict[str, Any] = {"received": received, "now": now, "config": config, "language": lang}
    if kind == "complaint":
        t = wf.new_complaint(session, parsed, **kw)
    elif kind == "refund":
        t = wf.new_refund(session, parsed, order_number=intent.order_number, acknowledged=auto, **kw)
    else:
        t = wf.new_inquiry(session, parsed, **kw)
    message_id = _INSERT_MESSAGE.scalar(session, {**row, "ticket_id": t.id})
    store_inbound(session, t.id, message_id, parsed, now)
    _remember_language(session, t.customer_id, lang)
    for ref in turned["stranger"]:
        wf_messages.note_stranger(session, ref, now=now, outcome=f"it became the new ticket {t.reference}")
    if turned["closed"]:
        wf_messages.link_follow_up(session, t.id, turned["closed"][0], now=now)
    if t.kind == "refund" and t.info_needed == "order_number":
        wf.ask_order_number(session, t, intent.order_number, now=now, config=config)
    if t.kind == "refund":
        wf.auto_acknowledge(
            session, t.reference, now=now, config=config, asked_order=t.info_needed == "order_number", inserted=auto
        )
    return CREATED, t.reference


def _language(parsed: ParsedMessage, config: DeskConfig) -> str | None:
    """The language the message is written in (its header, else detected), when known."""
    from app.mail import language
    from app.workflow.templates import languages

    return parsed.language or language.detect(f"{parsed.subject}\n{parsed.body}", languages(config))


def _remember_language(session: Session, customer_id: int | None, lang: str | None) -> None:
    from app.mail import language

    language.remember(session, customer_id, lang)


def _hold(
    session: Session, raw: bytes, source: str, parsed: ParsedMessage, dedupe: str, reason: str, now: datetime
) -> tuple[str, str]:
    """Quarantine the message in the routing transaction: ("quarantined", reason)."""
    session.add(
        Quarantine(
            received_at=now,
            source=storable(source)[:1000],
            message_id=parsed.message_id,
            dedupe_key=dedupe,
            reason=reason[:500],
            raw=raw,
        )
    )
    session.flush()
    return QUARANTINED, reason


_OWNER = Prepared(
    select(col(Ticket.id), func.lower(col(Customer.email)), col(Ticket.status), col(Ticket.kind))
    .select_from(Ticket)
    .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
    .where(col(Ticket.reference) == bindparam("reference"))
)


def _route_existing(
    session: Session,
    parsed: ParsedMessage,
    intent: Intent,
    row: dict[str, Any],
    *,
    received: datetime,
    now: datetime,
    config: DeskConfig,
    turned: dict[str, list[str]],
) -> tuple[str, int, str, int] | None:
    """Replies and escalations: (result, ticket id, reference, message id),
    or None when the message asks for a new ticket (`turned` then says which
    quoted tickets refused it: "stranger" ones, or a "closed" one to follow up)."""
    from app.mail import tickets as wf
    from app.workflow import messages as wf_messages

    sender = (parsed.from_addr or "").strip().lower()

    def admitted(reference: str) -> bool:
        """The ticket takes mail from this sender (its customer's address)."""
        found = _OWNER.first(session, {"reference": reference})
        if found is None or (found[1] or "") != sender or not sender:
            if reference not in turned["stranger"]:
                turned["stranger"].append(reference)
            return False
        return True

    def linked(reference: str) -> tuple[str, int, str, int] | None:
        reference = tickets.survivor_reference(session, reference) or reference  # a merged ticket: the one it joined
        if not admitted(reference):
            return None
        t = tickets.get(session, reference)
        if t.status == "closed":
            if not wf_messages.reopens(t, now, config.mail.reopen_days):
                turned["closed"].append(t.reference)
                return None
            wf_messages.reopen_for_customer(session, t.reference, now=now, config=config)
        logged = wf.replied(session, reference, row, now=now, config=config)
        return LINKED, logged.ticket_id, logged.reference, logged.message_id

    thread = _thread_ticket(session, parsed)  # In-Reply-To/References name one of our messages
    if thread is not None and (intent.is_reply or intent.kind != "escalation"):
        return linked(thread)
    if intent.kind == "escalation":
        target = intent.escalates or ""
        target = (tickets.survivor_reference(session, target) if target else None) or target  # merged: where it joined
        kind = _kind_of(session, target)
        if kind == "complaint":
            if not admitted(target):
                return None
            created, ticket_id, reference, message_id = wf.escalate(
                session, target, parsed, row, received=received, now=now, config=config
            )
            return (CREATED if created else LINKED), ticket_id, reference, message_id
        if kind is not None:
            return linked(target)
        return None  # an unknown reference: a new inquiry for triage
    if threads_by_subject(intent):
        by_subject = _subject_ticket(session, intent)
        if by_subject is not None:
            return linked(by_subject)
    return None


_INSERT_MESSAGE = Prepared.insert(table_of(Message), returning="id")
