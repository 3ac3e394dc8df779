"""New customer mail, per person: which tickets have customer messages a
staff member has not seen (unread markers), marking a ticket seen, and the
"Replied" test (a customer wrote after the last staff action), and the
watch for new mail on one's own tickets (the console's notice). No Textual."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models import Message, Ticket, TicketEvent, TicketSeen, table_of
from models.enums import MessageKind

INBOUND = MessageKind.INBOUND.value


def mark_seen(session: Session, staff_id: int, ticket_id: int, now: datetime) -> None:
    """`staff_id` has seen every customer message of the ticket so far."""
    newest = (
        session.scalar(select(func.max(Message.id)).where(Message.ticket_id == ticket_id, Message.kind == INBOUND)) or 0
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table_of(TicketSeen)).values(
        staff_id=staff_id, ticket_id=ticket_id, message_id=newest, seen_at=now
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["staff_id", "ticket_id"],
            set_={"message_id": newest, "seen_at": now},
            where=table_of(TicketSeen).c.message_id < newest,
        )
    )


def unread_ids(session: Session, staff_id: int | None, ticket_ids: list[int]) -> set[int]:
    """Those of `ticket_ids` with a customer message `staff_id` has not seen
    (a ticket never opened counts every customer message as new)."""
    if staff_id is None or not ticket_ids:
        return set()
    seen = (
        select(TicketSeen.message_id)
        .where(TicketSeen.staff_id == staff_id, TicketSeen.ticket_id == Message.ticket_id)
        .scalar_subquery()
    )
    stmt = (
        select(Message.ticket_id)
        .where(Message.ticket_id.in_(ticket_ids), Message.kind == INBOUND)
        .group_by(Message.ticket_id)
        .having(func.max(Message.id) > func.coalesce(seen, 0))
    )
    return set(session.scalars(stmt))


def replied():
    """SQL: the ticket has a customer message newer than its last staff action
    (a ticket no staff member has acted on yet is new, not replied)."""
    last_staff = (
        select(func.max(TicketEvent.at))
        .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.actor.is_not(None))
        .scalar_subquery()
    )
    return exists().where(
        and_(Message.ticket_id == Ticket.id, Message.kind == INBOUND, Message.created_at > last_staff)
    )


class MailWatch:
    """New customer mail on the tickets `staff_id` holds (assignee or
    reviewer, open or closed), since the watch started. `check` returns
    the references that got mail since the last call (the first call only
    records where the mail stands). Each check is a range over the message
    ids above the last one seen: cheap enough to run on every console poll."""

    def __init__(self, staff_id: int) -> None:
        self.staff_id = staff_id
        self.last: int | None = None

    def check(self, session: Session) -> list[str]:
        newest = int(session.scalar(select(func.max(Message.id))) or 0)
        after, self.last = self.last, max(newest, self.last or 0)
        if after is None or newest <= after:
            return []
        me = self.staff_id
        rows = session.execute(
            select(Ticket.reference)
            .join(Message, Message.ticket_id == Ticket.id)
            .where(
                Message.id > after,
                Message.id <= newest,
                Message.kind == INBOUND,
                or_(Ticket.assignee_id == me, Ticket.reviewer_id == me),
            )
            .order_by(Message.id)
        )
        return list(dict.fromkeys(r[0] for r in rows))


__all__ = ["MailWatch", "mark_seen", "replied", "unread_ids"]
