"""The customer's whole story, for the side of a ticket: the escalation link
(an escalation's complaint, a complaint's escalation), the customer's other
tickets and their orders, each with its state. A read model: no Textual, no
writes; customer text is returned raw (screens make it inert), apart from
`story_lines`, the section's words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from app import labels
from app.untrusted import inert
from models import Order, Ticket
from models.enums import TicketStatus

MAX_ITEMS = 9  # one digit key each
MAX_ORDERS = 3


@dataclass(frozen=True)
class LinkedTicket:
    reference: str
    kind: str
    status: str
    subject: str
    relation: str  # "escalated_from" (this escalates it), "escalated_as", "same_customer"


@dataclass(frozen=True)
class OrderItem:
    number: str
    plan: str | None
    amount: str
    currency: str
    purchased_at: datetime
    state: str  # activated, installed, delivered, not delivered
    tickets: tuple[LinkedTicket, ...]  # the tickets about this order


@dataclass(frozen=True)
class CustomerStory:
    tickets: tuple[LinkedTicket, ...] = ()
    orders: tuple[OrderItem, ...] = ()
    more_tickets: int = 0  # the customer's tickets not listed (beyond MAX_ITEMS)

    @property
    def items(self) -> list[LinkedTicket | OrderItem]:
        """What the keys 1-9 open, in the order shown."""
        return [*self.tickets, *self.orders]


def order_state(o: Order) -> str:
    if o.activated:
        return "activated"
    if o.installed:
        return "installed"
    return "delivered" if o.delivered_at else "not delivered"


def _linked(t: Ticket, relation: str) -> LinkedTicket:
    return LinkedTicket(t.reference, t.kind, t.status, t.subject or "", relation)


def customer_story(session: Session, ticket: Ticket, *, shown_order_id: int | None = None) -> CustomerStory:
    """The story around `ticket`: its escalation link first, then the
    customer's other tickets (open ones first, newest first), then the
    customer's orders (newest first) other than `shown_order_id` unless the
    customer has more than that one."""
    links: list[LinkedTicket] = []
    seen = {ticket.id}
    if ticket.escalation_of_id:
        orig = session.get(Ticket, ticket.escalation_of_id)
        if orig is not None:
            links.append(_linked(orig, "escalated_from"))
            seen.add(orig.id)
    esc = session.scalars(select(Ticket).where(col(Ticket.escalation_of_id) == ticket.id)).first()
    if esc is not None:
        links.append(_linked(esc, "escalated_as"))
        seen.add(esc.id)
    more = 0
    orders: list[OrderItem] = []
    if ticket.customer_id is not None:
        rows = session.scalars(
            select(Order)
            .where(col(Order.customer_id) == ticket.customer_id)
            .order_by(col(Order.purchased_at).desc(), col(Order.id).desc())
            .limit(MAX_ORDERS)
        ).all()
        if not (len(rows) == 1 and rows[0].id == shown_order_id):  # its one order is already on the ticket
            by_order: dict[int | None, list[LinkedTicket]] = {o.id: [] for o in rows}
            for t in session.scalars(
                select(Ticket).where(col(Ticket.order_id).in_(list(by_order))).order_by(col(Ticket.id).desc())
            ):
                by_order[t.order_id].append(_linked(t, "same_customer"))
            orders = [
                OrderItem(
                    o.number, o.plan, str(o.amount), o.currency, o.purchased_at, order_state(o), tuple(by_order[o.id])
                )
                for o in rows
            ]
        # a ticket merged into another is part of that one now (its reference leads there)
        same = (
            col(Ticket.customer_id) == ticket.customer_id,
            col(Ticket.id).not_in(seen),
            col(Ticket.merged_into_id).is_(None),
        )
        others = session.scalars(
            select(Ticket)
            .where(*same)
            .order_by(
                (col(Ticket.status) == TicketStatus.CLOSED.value).asc(),
                col(Ticket.received_at).desc(),
                col(Ticket.id).desc(),
            )
            .limit(max(0, MAX_ITEMS - len(links) - len(orders)))
        ).all()
        links += [_linked(t, "same_customer") for t in others]
        total = session.scalar(select(func.count(col(Ticket.id))).where(*same)) or 0
        more = max(0, total - len(others))
    return CustomerStory(tuple(links), tuple(orders), more)


_RELATION = {"escalated_from": "escalates", "escalated_as": "escalated as"}


def story_lines(story: CustomerStory | None, tz: ZoneInfo) -> list[str]:
    """The ticket screen's "Linked" section: each ticket and order with its
    number key and state (customer text inert, days desk-local); empty when
    there is nothing to link."""
    if story is None:
        return []
    lines = []
    for n, item in enumerate(story.items, start=1):
        if isinstance(item, LinkedTicket):
            what = _RELATION.get(item.relation, labels.kind(item.kind))
            subject = inert(item.subject, limit=48, single_line=True)
            lines.append(
                f"{n} {what} {item.reference} · {labels.status(item.status)}" + (f" · {subject}" if subject else "")
            )
        else:
            plan = inert(item.plan, limit=32, single_line=True) or "plan ?"
            lines.append(
                f"{n} order {item.number} · {item.state} · {plan} · bought {labels.local_day(item.purchased_at, tz)}"
            )
    if story.more_tickets:
        lines.append(f"  and {story.more_tickets} more of this customer's tickets")
    return lines


__all__ = ["MAX_ITEMS", "CustomerStory", "LinkedTicket", "OrderItem", "customer_story", "order_state", "story_lines"]
