"""Queuing customer-facing messages in the caller's transaction
(transactional outbox): the message exists exactly when the change that
caused it is committed; delivery happens later (app outbox sender)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlmodel import Session

from app.config import DeskConfig
from app.prepared import Prepared
from app.workflow.templates import ACKNOWLEDGMENT, ESCALATION_ACKNOWLEDGMENT, Rendered, render
from models import Customer, Message, Ticket
from models.enums import DeliveryState, MessageKind


def customer_of(session: Session, t: Ticket) -> Customer | None:
    return session.get(Customer, t.customer_id) if t.customer_id else None


def base_values(session: Session, t: Ticket, config: DeskConfig) -> dict[str, str]:
    c = customer_of(session, t)
    name = (c.name or "").strip() if c else ""
    return {"reference": t.reference, "customer_name": name or "customer", "desk_address": config.desk_address}


_C, _M = Customer.__table__, Message.__table__
_CUSTOMER_EMAIL = Prepared(select(_C.c.email).where(_C.c.id == bindparam("cid")))
_LAST_INBOUND_ID = Prepared(
    select(_M.c.message_id)
    .where(_M.c.ticket_id == bindparam("tid"), _M.c.kind == MessageKind.INBOUND.value, _M.c.message_id.is_not(None))
    .order_by(_M.c.created_at.desc(), _M.c.id.desc()).limit(1)
)
_INSERT_MESSAGE = Prepared.insert(_M, returning="id")


def queue_message(session: Session, t, rendered: Rendered, *, now: datetime, author: str | None, config: DeskConfig) -> int | None:  # noqa: ANN001  t: a Ticket or NewTicket
    """Queue an outbound message; its id, or None (nothing queued) when the
    customer has no email address on file. Prepared statements: intake
    queues questions on its hot path."""
    assert t.reference in rendered.subject, "every customer subject names the reference"
    if session.new or session.dirty:
        session.flush()  # the statements below read what the ORM may still hold
    email = _CUSTOMER_EMAIL.scalar(session, {"cid": t.customer_id}) if t.customer_id else None
    if not (email or "").strip():
        return None
    return _INSERT_MESSAGE.scalar(session, {
        "ticket_id": t.id, "kind": MessageKind.OUTBOUND.value, "from_addr": config.desk_address, "to_addr": email,
        "subject": rendered.subject, "body": rendered.body, "template": rendered.template, "author": author,
        "in_reply_to": _LAST_INBOUND_ID.scalar(session, {"tid": t.id}), "created_at": now,
        "delivery": DeliveryState.QUEUED.value, "next_attempt_at": now, "hold_until": hold_until(rendered, now, author, config),
    })


UNHELD_TEMPLATES = frozenset({ACKNOWLEDGMENT, ESCALATION_ACKNOWLEDGMENT})


def hold_until(rendered: Rendered, now: datetime, author: str | None, config: DeskConfig) -> datetime | None:
    """When a person's mail may first be sent (`[outbox] hold_seconds` after it
    was queued; until then it can be recalled). Automatic mail (no author) and
    acknowledgments are not held."""
    if author is None or rendered.template in UNHELD_TEMPLATES or config.outbox_hold_seconds <= 0:
        return None
    return now + timedelta(seconds=config.outbox_hold_seconds)


def queue_rendered(session: Session, t: Ticket, rendered: Rendered, *, now: datetime, author: str | None, config: DeskConfig) -> Message | None:
    """`queue_message`, returning the queued Message (None when nothing was queued)."""
    mid = queue_message(session, t, rendered, now=now, author=author, config=config)
    return None if mid is None else session.get(Message, mid)


def queue(session: Session, t: Ticket, template: str, *, now: datetime, author: str | None, config: DeskConfig, **values) -> Message | None:
    """Render `template` with the ticket's reference and customer name plus
    `values`, and queue it."""
    vals = base_values(session, t, config)
    vals.update(values)
    return queue_rendered(session, t, render(template, **vals), now=now, author=author, config=config)
