"""What an inbound message does to tickets: the calls into app.workflow.

Complaints, inquiries, escalations and replies follow the workflow package's
rules; refund requests are created here (a refund ticket with its RefundCase,
the order linked by number, and a question to the customer when the order
number is missing or unknown).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col

from app import history, tickets
from app.business_calendar import desk_calendar
from app.config import DeskConfig
from app.mail.parse import ParsedMessage
from app.mail.route import find_order_number
from app.prepared import Prepared
from app.references import next_reference
from app.refunds.policies import default_policy
from app.sla_clocks import clock_due
from app.workflow import intake as wf_intake
from app.workflow.escalations import create_escalation
from app.workflow.guard import refresh_due
from app.workflow.intake import NewTicket
from app.workflow.messages import ReplyLogged, log_customer_reply
from models import Message, Order, RefundCase, Ticket, stored_id, table_of
from models.enums import Clock, MessageKind, TicketKind, TicketStatus

ORDER_QUESTION_TEMPLATE = "refund_order_number"
ACKNOWLEDGED_VERSION = 2  # a new ticket's version (1) once the acknowledgment has touched it


def inbound_row(parsed: ParsedMessage, dedupe: str, now: datetime, ticket_id: int | None = None) -> dict[str, Any]:
    """The inbound message's column values (ticket_id set once its ticket is known)."""
    return {
        "ticket_id": ticket_id,
        "kind": MessageKind.INBOUND.value,
        "message_id": parsed.message_id,
        "dedupe_key": dedupe,
        "in_reply_to": parsed.in_reply_to,
        "from_addr": parsed.from_addr,
        "from_name": parsed.from_name,
        "to_addr": parsed.to_addr,
        "subject": parsed.subject,
        "body": parsed.body,
        "template": None,
        "author": None,
        "sent_at": parsed.date,
        "created_at": now,
        "delivery": None,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": None,
    }


def new_complaint(
    session: Session,
    parsed: ParsedMessage,
    *,
    received: datetime,
    now: datetime,
    config: DeskConfig,
    language: str | None = None,
) -> NewTicket:
    """A complaint from the mail's sender (a new customer gets `language`); the caller stores the message."""
    return wf_intake.log_complaint(
        session,
        received_at=received,
        email=parsed.from_addr,
        name=parsed.from_name,
        subject=parsed.subject,
        description=parsed.body,
        source="email",
        config=config,
        now=now,
        language=language,
    )


def new_inquiry(
    session: Session,
    parsed: ParsedMessage,
    *,
    received: datetime,
    now: datetime,
    config: DeskConfig,
    language: str | None = None,
) -> NewTicket:
    """An inquiry for triage (a new customer gets `language`); the caller stores the message."""
    return wf_intake.log_inquiry(
        session,
        received_at=received,
        email=parsed.from_addr,
        name=parsed.from_name,
        subject=parsed.subject,
        description=parsed.body,
        source="email",
        config=config,
        now=now,
        language=language,
    )


def new_refund(
    session: Session,
    parsed: ParsedMessage,
    *,
    order_number: str | None,
    received: datetime,
    now: datetime,
    config: DeskConfig,
    language: str | None = None,
    acknowledged: bool = False,
) -> NewTicket:
    """A refund ticket (RFD-…) with its RefundCase; the review clock starts at
    receipt. The quoted order number stays on the ticket whether or not the
    desk holds that order (it is linked when the order arrives: import or
    lookup). Only when the mail quotes none is `info_needed` "order_number",
    and the caller, once the message is stored, asks with `ask_order_number`.

    `acknowledged`: the caller acknowledges it at once (`auto_acknowledge`
    with `inserted`, as intake does): the row is inserted as that acknowledgment leaves it
    (acknowledged now, touched once, its deadline the next clock's), so the
    acknowledgment writes its mail and history and no second row version."""
    cal = desk_calendar(config)
    order = _FIND_ORDER.first(session, {"number": order_number}) if order_number else None
    order_id, number, brand = order if order is not None else (None, None, None)
    policy = brand or default_policy()  # no known order: the policy file that says "default"
    customer_id = wf_intake.customer_id_for(
        session, email=parsed.from_addr, name=parsed.from_name, phone=None, now=now, language=language
    )
    values = dict(
        reference=next_reference(session, TicketKind.REFUND, cal.local_date(received).year),
        kind=TicketKind.REFUND.value,
        status=TicketStatus.SUBMITTED.value,
        subject=(parsed.subject or "Refund Request").strip()[:500],
        description=parsed.body,
        brand=policy,
        customer_id=customer_id,
        order_id=order_id,
        order_number=order_number or None,
        info_needed=None if order_number else "order_number",
        received_at=received,
        review_due_at=clock_due(cal, Clock.REFUND_REVIEW, received),
        ack_due_at=clock_due(cal, Clock.REFUND_ACK, received),  # esimium 4.2: acknowledged within 24 hours
        created_at=now,
        updated_at=now,
    )
    if acknowledged:  # store_new's deadline is then the one the acknowledgment's refresh_due gives
        values.update(acknowledged_at=now, version=ACKNOWLEDGED_VERSION)
    t = wf_intake.store_new(session, values, None, None, now, source="email", order=number, order_given=order_number)
    _INSERT_CASE.run(session, {"ticket_id": t.id, "policy": policy})
    return t


_FIND_ORDER = Prepared(
    select(col(Order.id), col(Order.number), col(Order.brand)).where(col(Order.number) == bindparam("number"))
)
_INSERT_CASE = Prepared.insert(table_of(RefundCase))


def ask_order_number(session: Session, t: NewTicket, given: str | None, *, now: datetime, config: DeskConfig) -> None:
    """The automatic question for the order number (template refund_order_number)."""
    from app.workflow.outbox import queue_message, render_for
    from app.workflow.templates import Localized

    problem = (
        Localized(f"We could not find an order with the number {given} in our records.", "order_unknown", given=given)
        if given
        else Localized("Your message did not include the order number.", "order_missing")
    )
    rendered = render_for(session, t, ORDER_QUESTION_TEMPLATE, config=config, problem=problem)
    queued = queue_message(session, t, rendered, now=now, author=None, config=config)
    history.record(
        session,
        stored_id(t),
        None,
        "info_requested",
        now,
        t.status,
        t.status,
        missing="order_number",
        queued=queued is not None,
    )


def escalate(
    session: Session,
    complaint: str,
    parsed: ParsedMessage,
    row: dict[str, Any],
    *,
    received: datetime,
    now: datetime,
    config: DeskConfig,
) -> tuple[bool, int, str, int]:
    """(created, ticket id, reference, message id): the new escalation, or,
    when the workflow declines (second escalation, nothing to escalate yet),
    the ticket that received the message as correspondence."""
    msg = Message(**row)
    outcome = create_escalation(
        session, complaint, received_at=received, reason=None, message=msg, config=config, now=now
    )
    t = outcome.escalation if outcome.created and outcome.escalation is not None else outcome.complaint
    session.flush()
    return outcome.created and outcome.escalation is not None, stored_id(t), t.reference, stored_id(msg)


def replied(session: Session, reference: str, row: dict[str, Any], *, now: datetime, config: DeskConfig) -> ReplyLogged:
    """The customer wrote on ticket `reference` (the workflow stores the
    message, records the reply and resumes a ticket that waited on the
    customer); a refund still missing its order is linked to the order the
    reply names."""
    logged = log_customer_reply(session, reference, row, now=now, config=config)
    if logged.kind == TicketKind.REFUND.value and logged.order_id is None:
        _link_order_from_reply(session, logged, row, now)
    return logged


def _link_order_from_reply(session: Session, logged: ReplyLogged, row: dict[str, Any], now: datetime) -> None:
    """The customer answered the order-number question: link the order."""
    number = find_order_number(row.get("subject"), row.get("body"))
    order = session.scalars(select(Order).where(col(Order.number) == number)).first() if number else None
    if order is None:
        if number:  # kept on the ticket; linked when the order arrives
            t = tickets.lock(session, logged.reference)
            if not t.order_number:
                t.order_number = number
                if t.info_needed == "order_number":
                    t.info_needed = None
                history.record(
                    session,
                    stored_id(t),
                    None,
                    "order_quoted",
                    now,
                    t.status,
                    t.status,
                    order=number,
                    message_id=logged.message_id,
                )
        return
    t = tickets.lock(session, logged.reference)
    t.order_id = order.id
    t.order_number = order.number
    t.brand = order.brand
    if t.info_needed == "order_number":
        t.info_needed = None
    case = session.scalars(select(RefundCase).where(col(RefundCase.ticket_id) == t.id)).first()
    if case is not None and case.decision is None:
        case.policy = order.brand
    history.record(
        session,
        stored_id(t),
        None,
        "order_linked",
        now,
        t.status,
        t.status,
        order=order.number,
        message_id=logged.message_id,
    )


def auto_acknowledge(
    session: Session,
    reference: str,
    *,
    now: datetime,
    config: DeskConfig,
    asked_order: bool = False,
    inserted: bool = False,
) -> int | None:  # the id of the acknowledgment queued, if one was
    """Intake's hook for a new refund request: acknowledge it at once when
    `[refunds] auto_acknowledge` (the default); otherwise the clock runs
    until an agent acknowledges. When intake has just asked for the order
    number, that mail (reference, thanks, review once the number arrives) is
    the acknowledgment: no second mail.

    `inserted`: the ticket was inserted as the acknowledgment leaves it
    (`new_refund(acknowledged=True)`): it is acknowledged again on its row as
    it was before (the same checks, mail and history), and the row is
    written only where that differs from what was inserted."""
    from app import refund_cases  # late: the refund services import the workflow package

    if not config.refunds.auto_acknowledge:
        return None
    t = _row(session, reference)  # a new ticket, locked since its insert: its row, no ORM load
    if t is None:
        return refund_cases.acknowledge_id(session, None, reference, now=now, config=config, expected_version=None)
    stored = _saved(t)
    if inserted and t.acknowledged_at is not None:  # the row before the acknowledgment (new_refund)
        t.acknowledged_at, t.version = None, t.version - 1
    if asked_order:
        if t.acknowledged_at is None:
            t.acknowledged_at = now
            history.record(
                session,
                t.id,
                None,
                "acknowledged",
                now,
                t.status,
                t.status,
                ack_due_at=t.ack_due_at,
                via="order number question",
            )
            refresh_due(t)
            tickets.touch(t, None, now)
            _save_row(session, t, stored)
        return None
    mid = refund_cases.acknowledge_id(session, None, reference, now=now, config=config, expected_version=None, ticket=t)
    _save_row(session, t, stored)
    return mid


_TICKET = table_of(Ticket)
_ROW_OF = Prepared(select(_TICKET).where(_TICKET.c.reference == bindparam("reference")))
# what an acknowledgment changes on the ticket
_SAVED = ("review_due_at", "acknowledged_at", "due_at", "due_clock", "version", "updated_at", "updated_by", "mail_flag")
_SAVE_ROW = Prepared(
    update(_TICKET)
    .where(_TICKET.c.id == bindparam("tid"))
    .values({c: bindparam(c, type_=_TICKET.c[c].type) for c in _SAVED})
)


def _row(session: Session, reference: str) -> Any:
    """Refund ticket `reference` as a row (a prepared statement, its values
    decoded by the columns' types: no ORM object); None when it is not an
    unmerged refund ticket (the ORM path then says why)."""
    raw = _ROW_OF.first(session, {"reference": reference})
    if raw is None:
        return None
    found = {
        name: v if decode is None else decode(v) for (name, decode), v in zip(_decoders(session), raw, strict=True)
    }
    if found["merged_into_id"] is not None or found["kind"] != TicketKind.REFUND.value:
        return None
    return SimpleNamespace(**found)


_DECODERS: dict[str, tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}


def _decoders(session: Session) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """(column name, its type's result processor) of every ticket column, per dialect."""
    dialect = session.get_bind().dialect
    found = _DECODERS.get(dialect.name)
    if found is None:
        found = _DECODERS[dialect.name] = tuple(
            (c.name, c.type.dialect_impl(dialect).result_processor(dialect, None)) for c in _TICKET.columns
        )
    return found


def _saved(t: SimpleNamespace) -> dict[str, Any]:
    return {c: getattr(t, c) for c in _SAVED}


def _save_row(session: Session, t: SimpleNamespace, stored: dict[str, Any]) -> None:
    """Write what the acknowledgment changed, unless the row holds it already (`stored`: its values as read)."""
    values = _saved(t)
    if values != stored:
        _SAVE_ROW.run(session, {"tid": t.id, **values})
