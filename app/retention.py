"""Data retention: anonymise customers' personal data once their business is done.

The complaints policy promises personal data is used only to investigate and
resolve. A customer becomes due when every one of their tickets has been
closed for longer than the retention period (a customer without tickets: when
created that long ago). Then:

- the customer's name, e-mail and phone are replaced (a unique placeholder
  e-mail, `anonymised_at` set);
- on each of their tickets, the description, every message's body and the
  sender's/recipient's name and address are removed, attachment contents and
  names deleted, and raw quarantined mail linked to the ticket emptied.

Tickets themselves (references, kinds, states, clocks, outcomes), orders,
refund cases and the TicketEvent history stay: they hold no personal data and
carry the statistics. Each anonymised ticket gets one `anonymised` event.
`plan` only lists what would change (the dry run); `apply` does it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, not_, or_, select, update
from sqlmodel import Session

from app import history
from app.errors import InputError
from app.tickets import touch
from models import Attachment, Customer, Message, Quarantine, Ticket
from models.enums import MessageKind, QuarantineState, TicketStatus

REMOVED = "[removed under data retention]"


def placeholder_email(customer_id: int) -> str:
    return f"anonymised-{customer_id}@anonymised.invalid"


def placeholder_name(customer_id: int) -> str:
    return f"Anonymised customer {customer_id}"


@dataclass
class CustomerPlan:
    customer_id: int
    tickets: list[str] = field(default_factory=list)
    messages: int = 0
    attachments: int = 0

    def as_dict(self) -> dict:
        return {"customer_id": self.customer_id, "tickets": self.tickets, "messages": self.messages, "attachments": self.attachments}


@dataclass
class RetentionPlan:
    older_than_days: int
    cutoff: datetime
    customers: list[CustomerPlan] = field(default_factory=list)
    orphan_tickets: list[str] = field(default_factory=list)  # closed tickets with no customer record
    applied: bool = False

    @property
    def ticket_count(self) -> int:
        return sum(len(c.tickets) for c in self.customers) + len(self.orphan_tickets)

    def as_dict(self) -> dict:
        return {
            "mode": "applied" if self.applied else "dry-run",
            "older_than_days": self.older_than_days,
            "cutoff": self.cutoff.isoformat(timespec="seconds"),
            "customers": len(self.customers),
            "tickets": self.ticket_count,
            "messages": sum(c.messages for c in self.customers) + self._orphan_messages,
            "attachments": sum(c.attachments for c in self.customers) + self._orphan_attachments,
            "changes": [c.as_dict() for c in self.customers],
            "tickets_without_customer": self.orphan_tickets,
        }

    _orphan_messages: int = 0
    _orphan_attachments: int = 0


def _closed_before(cutoff: datetime):
    return and_(Ticket.status == TicketStatus.CLOSED.value, Ticket.closed_at.is_not(None), Ticket.closed_at < cutoff)


def plan(session: Session, older_than_days: int, now: datetime) -> RetentionPlan:
    """What `apply` would anonymise (nothing is changed)."""
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) or older_than_days < 1:
        raise InputError(f"--older-than must be a whole number of days, at least 1 (got {older_than_days!r})")
    if now.tzinfo is None:
        raise InputError("now must be timezone-aware")
    cutoff = now - timedelta(days=older_than_days)
    result = RetentionPlan(older_than_days=older_than_days, cutoff=cutoff)

    not_done = exists().where(Ticket.customer_id == Customer.id, not_(_closed_before(cutoff)))
    any_ticket = exists().where(Ticket.customer_id == Customer.id)
    due = select(Customer.id).where(
        Customer.anonymised_at.is_(None),
        not_(not_done),
        or_(any_ticket, Customer.created_at < cutoff),
    ).order_by(Customer.id)
    ids = [r[0] for r in session.execute(due)]
    by_id = {i: CustomerPlan(customer_id=i) for i in ids}
    if ids:
        for chunk in _chunks(ids):
            for cid, ref in session.execute(select(Ticket.customer_id, Ticket.reference).where(Ticket.customer_id.in_(chunk)).order_by(Ticket.reference)):
                by_id[cid].tickets.append(ref)
            msg_counts = select(Ticket.customer_id, func.count(Message.id)).join(Message, Message.ticket_id == Ticket.id).where(
                Ticket.customer_id.in_(chunk), _needs_scrub()
            ).group_by(Ticket.customer_id)
            for cid, n in session.execute(msg_counts):
                by_id[cid].messages = int(n)
            att_counts = (
                select(Ticket.customer_id, func.count(Attachment.id))
                .join(Message, Message.ticket_id == Ticket.id)
                .join(Attachment, Attachment.message_id == Message.id)
                .where(Ticket.customer_id.in_(chunk), Attachment.data.is_not(None))
                .group_by(Ticket.customer_id)
            )
            for cid, n in session.execute(att_counts):
                by_id[cid].attachments = int(n)
    result.customers = [by_id[i] for i in ids]

    orphan_ids = [r[0] for r in session.execute(
        select(Ticket.id).where(Ticket.customer_id.is_(None), _closed_before(cutoff), exists().where(Message.ticket_id == Ticket.id, _needs_scrub()))
    )]
    if orphan_ids:
        result.orphan_tickets = [r[0] for r in session.execute(select(Ticket.reference).where(Ticket.id.in_(orphan_ids)).order_by(Ticket.reference))]
        result._orphan_messages = int(session.scalar(select(func.count(Message.id)).where(Message.ticket_id.in_(orphan_ids), _needs_scrub())) or 0)
        result._orphan_attachments = int(session.scalar(
            select(func.count(Attachment.id)).join(Message, Attachment.message_id == Message.id).where(Message.ticket_id.in_(orphan_ids), Attachment.data.is_not(None))
        ) or 0)
    return result


def _needs_scrub():
    """A message still holding something personal."""
    return or_(Message.body != REMOVED, Message.from_addr.is_not(None), Message.from_name.is_not(None))


def _chunks(items: list[int], size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def apply(session: Session, older_than_days: int, now: datetime, actor: str | None = None) -> RetentionPlan:
    """Anonymise everything `plan` lists, inside the caller's transaction."""
    result = plan(session, older_than_days, now)
    refs = [ref for c in result.customers for ref in c.tickets] + result.orphan_tickets
    for c in result.customers:
        customer = session.get(Customer, c.customer_id)
        customer.name = placeholder_name(c.customer_id)
        customer.email = placeholder_email(c.customer_id)
        customer.phone = None
        customer.anonymised_at = now
    for chunk in _chunks_str(refs):
        tickets = list(session.scalars(select(Ticket).where(Ticket.reference.in_(chunk))))
        ticket_ids = [t.id for t in tickets]
        message_ids = select(Message.id).where(Message.ticket_id.in_(ticket_ids)).scalar_subquery()
        session.execute(
            update(Attachment)
            .where(Attachment.message_id.in_(message_ids))
            .values(data=None, filename="[removed]", size=0)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Message)
            .where(Message.ticket_id.in_(ticket_ids), Message.kind == MessageKind.OUTBOUND.value)
            .values(to_addr=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Message)
            .where(Message.ticket_id.in_(ticket_ids))
            .values(body=REMOVED, from_addr=None, from_name=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Quarantine)
            .where(Quarantine.ticket_id.in_(ticket_ids), Quarantine.state != QuarantineState.HELD.value)
            .values(raw=b"", source="")
            .execution_options(synchronize_session=False)
        )
        for ticket in tickets:
            ticket.description = None
            touch(ticket, actor, now)
            history.record(session, ticket.id, actor, "anonymised", now, older_than_days=older_than_days)
    session.flush()
    result.applied = True
    return result


def _chunks_str(items: list[str], size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


__all__ = ["REMOVED", "CustomerPlan", "RetentionPlan", "apply", "placeholder_email", "placeholder_name", "plan"]
