"""New customer mail, per person: which tickets have customer messages a
staff member has not seen (unread markers), marking a ticket seen, and the
"Replied" test (a customer wrote after the last staff action). No Textual."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models import Message, Ticket, TicketEvent, TicketSeen, table_of
from models.enums import MessageKind

INBOUND = MessageKind.INBOUND.value


def mark_seen(session: Session, staff_id: int, ticket_id: int, now: datetime) -> None:
    """`staff_id` has seen every customer message of the ticket so far."""
    newest = session.scalar(
        select(func.max(Message.id)).where(Message.ticket_id == ticket_id, Message.kind == INBOUND)
    ) or 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table_of(TicketSeen)).values(staff_id=staff_id, ticket_id=ticket_id, message_id=newest, seen_at=now)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["staff_id", "ticket_id"], set_={"message_id": newest, "seen_at": now},
        where=table_of(TicketSeen).c.message_id < newest,
    ))


def unread_ids(session: Session, staff_id: int | None, ticket_ids: list[int]) -> set[int]:
    """Those of `ticket_ids` with a customer message `staff_id` has not seen
    (a ticket never opened counts every customer message as new)."""
    if staff_id is None or not ticket_ids:
        return set()
    seen = (select(TicketSeen.message_id)
            .where(TicketSeen.staff_id == staff_id, TicketSeen.ticket_id == Message.ticket_id).scalar_subquery())
    stmt = (select(Message.ticket_id).where(Message.ticket_id.in_(ticket_ids), Message.kind == INBOUND)
            .group_by(Message.ticket_id).having(func.max(Message.id) > func.coalesce(seen, 0)))
    return set(session.scalars(stmt))


def replied():
    """SQL: the ticket has a customer message newer than its last staff action
    (a ticket no staff member has acted on yet is new, not replied)."""
    last_staff = (select(func.max(TicketEvent.at))
                  .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.actor.is_not(None)).scalar_subquery())
    return exists().where(and_(Message.ticket_id == Ticket.id, Message.kind == INBOUND, Message.created_at > last_staff))


__all__ = ["mark_seen", "replied", "unread_ids"]
