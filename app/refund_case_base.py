"""What every refund case service shares (app/refund_cases.py, app/refund_approval.py,
app/refund_closing.py): the case row, the role and kind checks, status moves
with their history events, the clock a decided case runs on, and closing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import history, tickets
from app.business_calendar import BusinessCalendar, desk_calendar
from app.config import DeskConfig
from app.errors import IllegalTransition
from app.identity import Actor
from app.refunds.policies import default_policy
from models import Order, RefundCase, Ticket
from models.enums import Clock, CloseReason, TicketKind, TicketStatus
from models.tables import stored_id

S = TicketStatus
PERMISSION = "refund_decide"
DECIDABLE = (S.SUBMITTED.value, S.UNDER_REVIEW.value, S.DECIDED.value)
# alternatives that end the case without money moving (complete from decided)
NO_MONEY_OUTCOMES = ("store_credit", "replacement")


# -- reading -----------------------------------------------------------------
def case_row(session: Session, t: Ticket) -> RefundCase | None:
    return session.scalars(select(RefundCase).where(col(RefundCase.ticket_id) == t.id)).first()


def order_facts(session: Session, t: Ticket) -> dict[str, Any]:
    """Facts known from the ticket and its order (the wizard's prefill; app.orders.facts builds them)."""
    from app.orders.facts import ticket_order_facts

    return ticket_order_facts(session, t)


def order_brand(session: Session, t: Ticket) -> str:
    order = session.get(Order, t.order_id) if t.order_id else None
    return order.brand if order is not None else default_policy()


# -- helpers -----------------------------------------------------------------
def check_kind(t: Ticket) -> None:
    if t.kind != TicketKind.REFUND.value:
        raise IllegalTransition(f"{t.reference} is a {t.kind} ticket, not a refund case")


def begin_case(
    session: Session, actor: Actor | None, reference: str, expected_version: int | None, doing: str
) -> Ticket:
    from app.workflow.guard import begin

    t = begin(session, actor, reference, expected_version, PERMISSION, doing)
    check_kind(t)
    return t


def need_status(t: Ticket, allowed: tuple[str, ...], doing: str) -> None:
    if t.status not in allowed:
        raise IllegalTransition(f"{t.reference} is {t.status}: cannot {doing} (only when {' or '.join(allowed)})")


def case_for_write(session: Session, t: Ticket) -> RefundCase:
    case = case_row(session, t)
    if case is None:
        case = RefundCase(ticket_id=stored_id(t), policy=t.brand or order_brand(session, t))
        session.add(case)
    return case


def stored_decision(case: RefundCase) -> dict[str, Any]:
    if not case.decision:
        raise IllegalTransition("the refund case has no decision yet: record the facts first")
    decision: dict[str, Any] = json.loads(case.decision)
    return decision


def set_status(
    session: Session, t: Ticket, login: str, to: str, now: datetime, action: str = "status", **detail: object
) -> None:
    history.record(session, stored_id(t), login, action, now, t.status, to, **detail)
    t.status = to


def finish(t: Ticket, login: str | None, now: datetime) -> None:
    tickets.touch(t, login, now)


def run_clock(t: Ticket, clock: Clock, due: datetime | None) -> None:
    """Point the ticket at a refund clock that runs after the decision."""
    t.due_clock, t.due_at = clock.value, due


def with_rights(text: str, decision: dict[str, Any] | None) -> str:
    """The decision text with the policy's statutory-rights paragraph (esimium)."""
    rights = (decision or {}).get("statutory_rights") or ""
    if not rights or rights in text:
        return text
    return text.rstrip() + "\n\n" + rights


def calendar_for(cal: BusinessCalendar | None, config: DeskConfig | None) -> BusinessCalendar:
    return cal if cal is not None else desk_calendar(config or DeskConfig())


def close_case(session: Session, t: Ticket, login: str, reason: CloseReason, now: datetime, **detail: object) -> None:
    history.record(session, stored_id(t), login, "closed", now, t.status, S.CLOSED.value, reason=reason.value, **detail)
    t.status = S.CLOSED.value
    t.close_reason = reason.value
    t.closed_at = now
    t.due_at, t.due_clock = None, None
    t.paused_since = None
