"""The refund case workflow on refund tickets (issue 5, parts 3, 6, 7).

    submitted -> under_review        start_review
    under_review -> decided          record_facts / record_alternative (engine decision)
      (needs_info stays under_review: request_information pauses the review
       clock; customer_replied resumes it, moving review_due by the business
       days spent waiting)
    decided -> decided (approved)    approve: milestones, refund_initiation clock, notice "approved"
    decided -> processing            mark_initiated: notice "initiated"
    processing -> closed             complete (refund_completed)
    decided -> closed                complete (store credit / replacement given), deny, refer

Every service checks the role (refund_decide), locks the ticket
(optimistic locking: `expected_version`), writes TicketEvents and bumps the
version. Decisions always come from app.refunds (the same engine as the CLI).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app import history, tickets
from app.business_calendar import BusinessCalendar, desk_calendar
from app.config import DeskConfig
from app.errors import IllegalTransition, InputError
from app.identity import Actor
from app.refunds import milestones, notice_text, parse_facts
from app.refunds.engine import ASK
from app.refunds.facts import ALTERNATIVES
from app.refunds.records import APPROVABLE, record_approval, record_decision
from app.sla_clocks import clock_due
from app.workflow import outbox, waiting
from app.workflow.guard import aware
from models import Customer, Message, Order, RefundCase, Ticket
from models.enums import Clock, CloseReason, TicketKind, TicketStatus

S = TicketStatus
PERMISSION = "refund_decide"
DECIDABLE = (S.SUBMITTED.value, S.UNDER_REVIEW.value, S.DECIDED.value)
# alternatives that end the case without money moving (complete from decided)
NO_MONEY_OUTCOMES = ("store_credit", "replacement")


@dataclass
class CaseView:
    """What the wizard and the CLI need to show one refund case (detached)."""

    ticket: Ticket
    case: RefundCase
    facts: dict[str, Any]  # stored facts over the order's facts (may be incomplete)
    decision: dict[str, Any] | None
    customer_name: str
    order_number: str | None


# -- reading -----------------------------------------------------------------
def _case_row(session: Session, t: Ticket) -> RefundCase | None:
    return session.scalars(select(RefundCase).where(RefundCase.ticket_id == t.id)).first()


def order_facts(session: Session, t: Ticket) -> dict[str, Any]:
    """Facts known from the ticket and its order (the wizard's prefill; app.orders.facts builds them)."""
    from app.orders.facts import ticket_order_facts

    return ticket_order_facts(session, t)


def load(session: Session, reference: str) -> CaseView:
    """The refund ticket, its case (a new unsaved one if none yet) and the
    facts, as detached snapshots (read-only use)."""
    t = tickets.get(session, reference)
    _check_kind(t)
    case = _case_row(session, t) or RefundCase(ticket_id=t.id, policy=t.brand or _order_brand(session, t))
    facts = order_facts(session, t)
    facts.update(json.loads(case.facts or "{}"))
    cust = session.get(Customer, t.customer_id) if t.customer_id else None
    order = session.get(Order, t.order_id) if t.order_id else None
    decision = json.loads(case.decision) if case.decision else None
    for row in (t, case):  # detached snapshots: usable after a reader session ends
        if row in session:
            session.expunge(row)
    return CaseView(t, case, facts, decision, (cust.name or "") if cust else "", order.number if order else None)


def _order_brand(session: Session, t: Ticket) -> str:
    order = session.get(Order, t.order_id) if t.order_id else None
    return order.brand if order is not None else "esimium"


# -- helpers -----------------------------------------------------------------
def _check_kind(t: Ticket) -> None:
    if t.kind != TicketKind.REFUND.value:
        raise IllegalTransition(f"{t.reference} is a {t.kind} ticket, not a refund case")


def _begin(session: Session, actor: Actor | None, reference: str, expected_version: int | None, doing: str) -> Ticket:
    from app.workflow.guard import begin

    t = begin(session, actor, reference, expected_version, PERMISSION, doing)
    _check_kind(t)
    return t


def _need_status(t: Ticket, allowed: tuple[str, ...], doing: str) -> None:
    if t.status not in allowed:
        raise IllegalTransition(f"{t.reference} is {t.status}: cannot {doing} (only when {' or '.join(allowed)})")


def _case_for_write(session: Session, t: Ticket) -> RefundCase:
    case = _case_row(session, t)
    if case is None:
        case = RefundCase(ticket_id=t.id, policy=t.brand or _order_brand(session, t))
        session.add(case)
    return case


def _decision(case: RefundCase) -> dict[str, Any]:
    if not case.decision:
        raise IllegalTransition("the refund case has no decision yet: record the facts first")
    return json.loads(case.decision)


def _set_status(session: Session, t: Ticket, login: str, to: str, now: datetime, action: str = "status", **detail) -> None:
    history.record(session, t.id, login, action, now, t.status, to, **detail)
    t.status = to


def _finish(t: Ticket, login: str, now: datetime) -> None:
    tickets.touch(t, login, now)


def _cal(cal: BusinessCalendar | None, config: DeskConfig | None) -> BusinessCalendar:
    return cal if cal is not None else desk_calendar(config or DeskConfig())


# -- services ----------------------------------------------------------------
def start_review(session: Session, actor: Actor, reference: str, *, expected_version: int | None, now: datetime,
                 cal: BusinessCalendar | None = None) -> Ticket:
    """submitted -> under_review; the agent takes the case (if unassigned)."""
    now = aware(now)
    t = _begin(session, actor, reference, expected_version, "review refund cases")
    _need_status(t, (S.SUBMITTED.value,), "start the review")
    if t.review_due_at is None:
        t.review_due_at = clock_due(_cal(cal, None), Clock.REFUND_REVIEW, t.received_at)
    if t.assignee_id is None:
        t.assignee_id = actor.id
    _set_status(session, t, actor.login, S.UNDER_REVIEW.value, now)
    t.due_at, t.due_clock = t.review_due_at, Clock.REFUND_REVIEW.value
    _finish(t, actor.login, now)
    return t


def record_facts(session: Session, actor: Actor, reference: str, facts: dict[str, Any], *,
                 expected_version: int | None, now: datetime, cal: BusinessCalendar | None = None) -> dict[str, Any]:
    """Store the facts and decide with the engine. A decision other than
    needs_info moves the case to `decided` (event "decided" citing the
    sections); needs_info keeps it under review (event "facts"). Returns the
    decision (the contract's Decision)."""
    now = aware(now)
    t = _begin(session, actor, reference, expected_version, "decide refunds")
    _need_status(t, DECIDABLE, "record facts")
    case = _case_for_write(session, t)
    if case.approved_at is not None:
        raise IllegalTransition(f"{t.reference}: the refund was approved on {case.approved_at.date().isoformat()}; its facts can no longer change")
    f = parse_facts(facts)
    d = record_decision(case, f)
    if t.paused_since is not None and d["outcome"] != "needs_info":  # the facts arrived: the wait is over
        waiting.resume(session, t, now, _cal(cal, None), actor)
    if t.status == S.SUBMITTED.value:
        if t.assignee_id is None:
            t.assignee_id = actor.id
        _set_status(session, t, actor.login, S.UNDER_REVIEW.value, now)
        if t.review_due_at is None:
            t.review_due_at = clock_due(_cal(cal, None), Clock.REFUND_REVIEW, t.received_at)
    if d["outcome"] == "needs_info":
        history.record(session, t.id, actor.login, "facts", now, t.status, S.UNDER_REVIEW.value,
                       outcome="needs_info", missing=d["missing"], sections=d["sections"])
        t.status = S.UNDER_REVIEW.value
        t.decided_at = None
        t.due_at, t.due_clock = t.review_due_at, Clock.REFUND_REVIEW.value
    else:
        history.record(session, t.id, actor.login, "decided", now, t.status, S.DECIDED.value,
                       outcome=d["outcome"], sections=d["sections"], policy=d["policy"],
                       policy_version=d["policy_version"], max_refund=d["max_refund"], currency=d["currency"])
        t.status = S.DECIDED.value
        t.decided_at = now
        t.due_at, t.due_clock = None, None  # the review clock stopped; approval starts initiation
    _finish(t, actor.login, now)
    return d


def record_alternative(session: Session, actor: Actor, reference: str, alternative: str, *,
                       expected_version: int | None, now: datetime, partial_amount: float | None = None,
                       cal: BusinessCalendar | None = None) -> dict[str, Any]:
    """The customer accepted an alternative (partial refund, store credit,
    replacement eSIM, extended support): re-decide with it as a fact."""
    if alternative not in ALTERNATIVES:
        raise InputError(f"unknown alternative {alternative!r} (one of: {', '.join(ALTERNATIVES)})")
    t = tickets.get(session, reference)
    _check_kind(t)
    case = _case_row(session, t)
    base = order_facts(session, t)
    if case is not None:
        base.update(json.loads(case.facts or "{}"))
    base["alternative"] = alternative
    if partial_amount is not None:
        base["partial_amount"] = partial_amount
    return record_facts(session, actor, reference, base, expected_version=expected_version, now=now, cal=cal)


def missing_request_text(decision: dict[str, Any]) -> str:
    """What the customer must send, one line per missing fact."""
    return "\n".join(f"- {ASK.get(n, n.replace('_', ' '))}" for n in decision.get("missing", []))


def request_information(session: Session, actor: Actor, reference: str, *, expected_version: int | None, now: datetime,
                        config: DeskConfig | None = None, request: str | None = None) -> Message | None:
    """For a needs_info decision: queue an information request naming what to
    send, and pause the review clock (event "pause", paused_since; a repeated
    request while already waiting keeps the first pause). Returns the queued
    message (None when the customer has no email address)."""
    now = aware(now)
    t = _begin(session, actor, reference, expected_version, "request information")
    _need_status(t, (S.UNDER_REVIEW.value,), "request information")
    case = _case_row(session, t)
    d = json.loads(case.decision) if case is not None and case.decision else None
    if d is None or d.get("outcome") != "needs_info":
        raise IllegalTransition(f"{t.reference}: an information request needs a needs_info decision (record the facts first)")
    text = (request or "").strip() or missing_request_text(d)
    msg = outbox.queue(session, t, "refund_information_request", now=now, author=actor.login,
                       config=config or DeskConfig(), request=text)
    wanted = ", ".join(d.get("missing", []))
    if t.paused_since is None:
        waiting.pause(session, t, actor, now, reason="information requested: " + wanted)
    else:  # already waiting since an earlier request: the clock stays paused from then
        history.record(session, t.id, actor.login, "information_requested", now, t.status, t.status,
                       missing=d.get("missing", []), waiting_since=t.paused_since)
    _finish(t, actor.login, now)
    return msg


def customer_replied(session: Session, actor: Actor | None, reference: str, *, now: datetime,
                     cal: BusinessCalendar | None = None, config: DeskConfig | None = None,
                     expected_version: int | None = None) -> datetime | None:
    """The customer answered: resume the review clock (event "resume"); the
    review deadline moves later by the business days spent waiting. `actor`
    None means the system (mail intake). Returns the new review deadline."""
    now = aware(now)
    if actor is not None:
        t = _begin(session, actor, reference, expected_version, "resume refund reviews")
    else:
        t = tickets.lock(session, reference, expected_version)
        _check_kind(t)
    if t.paused_since is None:
        return None
    new_due = waiting.resume(session, t, now, _cal(cal, config), actor)
    _finish(t, actor.login if actor else None, now)
    return new_due


def approve(session: Session, actor: Actor, reference: str, *, expected_version: int | None, now: datetime,
            cal: BusinessCalendar | None = None, config: DeskConfig | None = None) -> list[dict[str, Any]]:
    """Approve a decided refund: milestones dated by the business calendar,
    the refund_initiation clock starts, the "approved" notice is queued."""
    now = aware(now)
    cal = _cal(cal, config)
    t = _begin(session, actor, reference, expected_version, "approve refunds")
    _need_status(t, (S.DECIDED.value,), "approve")
    case = _case_for_write(session, t)
    if case.approved_at is not None:
        raise IllegalTransition(f"{t.reference}: already approved on {case.approved_at.date().isoformat()}")
    if case.outcome not in APPROVABLE:
        raise IllegalTransition(f"{t.reference}: a {case.outcome or 'undecided'} case cannot be approved (only {', '.join(APPROVABLE)})")
    d = _decision(case)
    if float(d.get("max_refund") or 0) <= 0:
        raise IllegalTransition(f"{t.reference}: nothing refundable (max_refund 0); record the agreed amount first")
    ms = record_approval(case, now, cal)
    t.due_at, t.due_clock = clock_due(cal, Clock.REFUND_INITIATION, now), Clock.REFUND_INITIATION.value
    history.record(session, t.id, actor.login, "approved", now, t.status, t.status,
                   max_refund=d["max_refund"], currency=d["currency"], refund_method=d["refund_method"],
                   milestones=[{"name": m["name"], "due_date": m["due_date"]} for m in ms])
    outbox.queue(session, t, "refund_approved", now=now, author=actor.login, config=config or DeskConfig(),
                 notice=notice_text("approved", d, ms))
    _finish(t, actor.login, now)
    return ms


def mark_initiated(session: Session, actor: Actor, reference: str, *, expected_version: int | None, now: datetime,
                   cal: BusinessCalendar | None = None, config: DeskConfig | None = None) -> Ticket:
    """The refund was sent to the payment processor: decided -> processing,
    the "initiated" notice is queued; the initiation clock stops."""
    now = aware(now)
    cal = _cal(cal, config)
    t = _begin(session, actor, reference, expected_version, "initiate refunds")
    _need_status(t, (S.DECIDED.value,), "mark the refund initiated")
    case = _case_for_write(session, t)
    if case.approved_at is None:
        raise IllegalTransition(f"{t.reference}: the refund is not approved yet")
    d = _decision(case)
    ms = milestones(case.policy, case.approved_at, cal, refund_method=case.refund_method)
    case.initiated_at = now
    case.sent_to_processor_at = now
    met = case.initiated_due_at is None or now <= case.initiated_due_at
    _set_status(session, t, actor.login, S.PROCESSING.value, now, milestone="initiated", on_time=met)
    t.due_at, t.due_clock = None, None
    outbox.queue(session, t, "refund_initiated", now=now, author=actor.login, config=config or DeskConfig(),
                 notice=notice_text("initiated", d, ms))
    _finish(t, actor.login, now)
    return t


def _close(session: Session, t: Ticket, login: str, reason: CloseReason, now: datetime, **detail) -> None:
    history.record(session, t.id, login, "closed", now, t.status, S.CLOSED.value, reason=reason.value, **detail)
    t.status = S.CLOSED.value
    t.close_reason = reason.value
    t.closed_at = now
    t.due_at, t.due_clock = None, None
    t.paused_since = None


def complete(session: Session, actor: Actor, reference: str, *, expected_version: int | None, now: datetime) -> Ticket:
    """The money arrived (processing -> closed), or the accepted store credit /
    replacement eSIM was given (decided -> closed)."""
    now = aware(now)
    t = _begin(session, actor, reference, expected_version, "complete refunds")
    case = _case_for_write(session, t)
    if t.status == S.DECIDED.value and case.outcome in NO_MONEY_OUTCOMES:
        _close(session, t, actor.login, CloseReason.REFUND_COMPLETED, now, alternative=case.alternative or case.outcome)
    else:
        _need_status(t, (S.PROCESSING.value,), "complete the refund")
        _close(session, t, actor.login, CloseReason.REFUND_COMPLETED, now)
    case.completed_at = now
    _finish(t, actor.login, now)
    return t


def _close_with_decision(session: Session, actor: Actor, reference: str, outcome: str, reason: CloseReason, *,
                         expected_version: int | None, now: datetime, config: DeskConfig | None, doing: str) -> Message | None:
    now = aware(now)
    t = _begin(session, actor, reference, expected_version, doing)
    _need_status(t, (S.DECIDED.value,), doing)
    case = _case_for_write(session, t)
    if case.outcome != outcome:
        raise IllegalTransition(f"{t.reference}: the policy decision is {case.outcome or 'none'}, not {outcome}")
    d = _decision(case)
    msg = outbox.queue(session, t, "refund_decision", now=now, author=actor.login, config=config or DeskConfig(),
                       explanation=d["explanation"])
    _close(session, t, actor.login, reason, now, sections=d["sections"], refer_to=d.get("refer_to"))
    _finish(t, actor.login, now)
    return msg


def deny(session: Session, actor: Actor, reference: str, *, expected_version: int | None, now: datetime,
         config: DeskConfig | None = None) -> Message | None:
    """Send the denial (the decision's explanation) and close (refund_denied)."""
    return _close_with_decision(session, actor, reference, "denied", CloseReason.REFUND_DENIED,
                                expected_version=expected_version, now=now, config=config, doing="deny refunds")


def refer(session: Session, actor: Actor, reference: str, *, expected_version: int | None, now: datetime,
          config: DeskConfig | None = None) -> Message | None:
    """Tell the customer who decides instead (reseller, business team,
    provider) and close (referred)."""
    return _close_with_decision(session, actor, reference, "refer", CloseReason.REFERRED,
                                expected_version=expected_version, now=now, config=config, doing="refer refunds")

