"""New customer mail, per person: which tickets have customer messages a
staff member has not seen (unread markers), marking a ticket seen, and the
"Replied" test (a customer wrote after the last staff action), and the
watch for new mail on one's own tickets (the console's notice). No Textual."""

from __future__ import annotations

import importlib
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.sql.expression import Exists
from sqlmodel import Session, col

from app.change_marker import Watcher
from models import Message, Ticket, TicketEvent, TicketSeen, table_of
from models.enums import MessageKind

INBOUND = MessageKind.INBOUND.value


def mark_seen(session: Session, staff_id: int, ticket_id: int, now: datetime) -> None:
    """`staff_id` has seen every customer message of the ticket so far."""
    newest = (
        session.scalar(
            select(func.max(col(Message.id))).where(col(Message.ticket_id) == ticket_id, col(Message.kind) == INBOUND)
        )
        or 0
    )
    # the engine's own dialect module (sqlite or postgresql) for its upsert: the other one is never imported
    dialect = importlib.import_module(f"sqlalchemy.dialects.{session.get_bind().dialect.name}")
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
        select(col(TicketSeen.message_id))
        .where(col(TicketSeen.staff_id) == staff_id, col(TicketSeen.ticket_id) == col(Message.ticket_id))
        .scalar_subquery()
    )
    stmt = (
        select(col(Message.ticket_id))
        .where(col(Message.ticket_id).in_(ticket_ids), col(Message.kind) == INBOUND)
        .group_by(col(Message.ticket_id))
        .having(func.max(col(Message.id)) > func.coalesce(seen, 0))
    )
    return set(session.scalars(stmt))


def replied() -> Exists:
    """SQL: the ticket has a customer message newer than its last staff action
    (a ticket no staff member has acted on yet is new, not replied)."""
    last_staff = (
        select(func.max(col(TicketEvent.at)))
        .where(col(TicketEvent.ticket_id) == col(Ticket.id), col(TicketEvent.actor).is_not(None))
        .scalar_subquery()
    )
    return exists().where(
        and_(
            col(Message.ticket_id) == col(Ticket.id), col(Message.kind) == INBOUND, col(Message.created_at) > last_staff
        )
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
        newest = int(session.scalar(select(func.max(col(Message.id)))) or 0)
        after, self.last = self.last, max(newest, self.last or 0)
        if after is None or newest <= after:
            return []
        me = self.staff_id
        rows = session.execute(
            select(col(Ticket.reference))
            .join(Message, col(Message.ticket_id) == col(Ticket.id))
            .where(
                col(Message.id) > after,
                col(Message.id) <= newest,
                col(Message.kind) == INBOUND,
                or_(col(Ticket.assignee_id) == me, col(Ticket.reviewer_id) == me),
            )
            .order_by(col(Message.id))
        )
        return list(dict.fromkeys(r[0] for r in rows))


__all__ = ["MailWatch", "mark_seen", "poll_changes", "replied", "unread_ids"]


def poll_changes(session: Session, watcher: Watcher, mail: MailWatch | None) -> tuple[bool, list[str]]:
    """One poll of the queue: did the desk change since the last one, and
    which of the person's tickets got customer mail (looked for only when the
    desk changed: new mail moves the change marker too)."""
    changed = watcher.changed(session)
    return changed, (mail.check(session) if mail is not None and (changed or mail.last is None) else [])
