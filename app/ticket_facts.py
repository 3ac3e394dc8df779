"""The facts around one ticket, read once: who it belongs to, who works it,
what it escalates or follows, what was merged into it.

The ticket screen (app/ticket_view.load_detail) and `esimdesk ticket show`
(app/cli/ticket_cmd.ticket_json) both start from `ticket_facts`: one reader of
these facts, however differently each then shows them (the screen inert lines,
the command raw JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session, col

from models import Customer, Order, Staff, Ticket, stored_id


@dataclass
class TicketFacts:
    ticket: Ticket
    customer: Customer | None = None
    order: Order | None = None
    assignee: str | None = None  # logins
    reviewer: str | None = None
    escalation_of: Ticket | None = None  # the complaint an escalation escalates
    escalation: str | None = None  # a complaint's escalation, by reference
    follows: str | None = None  # the closed ticket a follow-up follows, by reference
    merged_from: list[str] = field(default_factory=list)  # references merged into this one, oldest first


def _login(session: Session, staff_id: int | None) -> str | None:
    return session.scalar(select(col(Staff.login)).where(col(Staff.id) == staff_id)) if staff_id else None


def ticket_facts(session: Session, t: Ticket) -> TicketFacts:
    """The facts around ticket `t` (a stored ticket of `session`)."""
    from app.workflow.merge import merged_from

    tid = stored_id(t)
    previous = session.get(Ticket, t.previous_id) if t.previous_id else None
    return TicketFacts(
        ticket=t,
        customer=session.get(Customer, t.customer_id) if t.customer_id else None,
        order=session.get(Order, t.order_id) if t.order_id else None,
        assignee=_login(session, t.assignee_id),
        reviewer=_login(session, t.reviewer_id),
        escalation_of=session.get(Ticket, t.escalation_of_id) if t.escalation_of_id else None,
        escalation=session.scalar(select(col(Ticket.reference)).where(col(Ticket.escalation_of_id) == tid).limit(1)),
        follows=previous.reference if previous is not None else None,
        merged_from=merged_from(session, tid),
    )


__all__ = ["TicketFacts", "ticket_facts"]
