"""Queuing customer-facing messages in the caller's transaction
(transactional outbox): the message exists exactly when the change that
caused it is committed; delivery happens later (app outbox sender)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from app.config import DeskConfig
from app.workflow.templates import Rendered, render
from models import Customer, Message, Ticket
from models.enums import DeliveryState, MessageKind


def customer_of(session: Session, t: Ticket) -> Customer | None:
    return session.get(Customer, t.customer_id) if t.customer_id else None


def base_values(session: Session, t: Ticket, config: DeskConfig) -> dict[str, str]:
    c = customer_of(session, t)
    name = (c.name or "").strip() if c else ""
    return {"reference": t.reference, "customer_name": name or "customer", "desk_address": config.desk_address}


def _last_inbound_id(session: Session, t: Ticket) -> str | None:
    return session.scalars(
        select(Message.message_id)
        .where(Message.ticket_id == t.id, Message.kind == MessageKind.INBOUND.value, Message.message_id.is_not(None))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()


def queue_rendered(session: Session, t: Ticket, rendered: Rendered, *, now: datetime, author: str | None, config: DeskConfig) -> Message | None:
    """Queue an outbound message; None (nothing queued) when the customer has
    no email address on file."""
    assert t.reference in rendered.subject, "every customer subject names the reference"
    c = customer_of(session, t)
    if c is None or not (c.email or "").strip():
        return None
    msg = Message(
        ticket_id=t.id,
        kind=MessageKind.OUTBOUND.value,
        from_addr=config.desk_address,
        to_addr=c.email,
        subject=rendered.subject,
        body=rendered.body,
        template=rendered.template,
        author=author,
        in_reply_to=_last_inbound_id(session, t),
        created_at=now,
        delivery=DeliveryState.QUEUED.value,
        next_attempt_at=now,
    )
    session.add(msg)
    session.flush()
    return msg


def queue(session: Session, t: Ticket, template: str, *, now: datetime, author: str | None, config: DeskConfig, **values) -> Message | None:
    """Render `template` with the ticket's reference and customer name plus
    `values`, and queue it."""
    vals = base_values(session, t, config)
    vals.update(values)
    return queue_rendered(session, t, render(template, **vals), now=now, author=author, config=config)
