"""The refund case workflow on refund tickets (issue 5, parts 3, 6, 7).

    (receipt)                        the 24-hour acknowledgment clock (esimium 4.2);
                                     acknowledge sends the mail (intake: app.mail.tickets.auto_acknowledge)
    submitted -> under_review        start_review
    under_review -> decided          record_facts / record_alternative (engine decision);
                                     the "decision communicated" clock runs to the review deadline
      (needs_info stays under_review: request_information pauses the review
       clock; customer_replied resumes it, moving review_due by the business
       days spent waiting)
    decided -> decided (approved)    approve (case by case: the approver's amount and fee; 6.1.7:
                                     only after record_investigation confirmed; a pending
                                     chargeback: never): milestones, refund_initiation clock,
                                     notice "approved"
    decided -> processing            mark_initiated: notice "initiated"; the in-account clock
    processing -> closed             complete (refund_completed)
    decided -> closed                complete (store credit / replacement given), deny (a
                                     case-by-case or unconfirmed case: with the approver's
                                     reason), refer

Every open refund has a running clock (issue 17): acknowledgment, review,
decision communicated, initiation, in account (app.clocks.governing_clock).
Every eSIMium decision mail ends with the policy's statutory-rights paragraph.

Every service checks the role (refund_decide), locks the ticket
(optimistic locking: `expected_version`), writes TicketEvents and bumps the
version. Decisions always come from app.refunds (the same engine as the CLI).

Here: reading a case, the review and acknowledgment. Approval lives in
app/refund_approval.py, carrying the decision out in app/refund_closing.py,
what they share in app/refund_case_base.py; every service is re-exported
here, so callers keep `refund_cases.approve`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from app import history, tickets
from app.business_calendar import BusinessCalendar
from app.config import DeskConfig
from app.errors import DeskError, IllegalTransition, InputError
from app.identity import Actor
from app.orders.facts import TicketFactSources, fact_sources
from app.refund_approval import INVESTIGATION_RESULTS, approval_terms, approve, record_investigation
from app.refund_case_base import (
    DECIDABLE,
    NO_MONEY_OUTCOMES,
    PERMISSION,
    S,
    begin_case,
    calendar_for,
    case_for_write,
    case_row,
    check_kind,
    finish,
    need_status,
    order_brand,
    order_facts,
    run_clock,
    set_status,
    with_rights,
)
from app.refund_closing import DENIABLE_BY_APPROVER, complete, deny, mark_initiated, refer
from app.refunds import parse_facts, rules_from_config
from app.refunds.engine import ASK
from app.refunds.facts import ALTERNATIVES
from app.refunds.records import record_decision
from app.sla_clocks import clock_due
from app.workflow import outbox, waiting
from app.workflow import templates as tpl
from app.workflow.guard import aware, refresh_due
from models import Customer, Message, Order, RefundCase, Ticket
from models.enums import Clock
from models.tables import stored_id

if TYPE_CHECKING:
    from app.db import Desk


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
def load(session: Session, reference: str) -> CaseView:
    """The refund ticket, its case (a new unsaved one if none yet) and the
    facts, as detached snapshots (read-only use)."""
    t = tickets.get(session, reference)
    check_kind(t)
    case = case_row(session, t) or RefundCase(ticket_id=stored_id(t), policy=t.brand or order_brand(session, t))
    facts = order_facts(session, t)
    facts.update(json.loads(case.facts or "{}"))
    cust = session.get(Customer, t.customer_id) if t.customer_id else None
    order = session.get(Order, t.order_id) if t.order_id else None
    decision = json.loads(case.decision) if case.decision else None
    for row in (t, case):  # detached snapshots: usable after a reader session ends
        if row in session:
            session.expunge(row)
    return CaseView(t, case, facts, decision, (cust.name or "") if cust else "", order.number if order else None)


@dataclass(frozen=True)
class CaseRead:
    """What the refund wizard shows of a case, read in one pass off the event
    loop: the case and where its order facts came from, or the desk's refusal."""

    view: CaseView | None = None
    sources: TicketFactSources | None = None
    error: DeskError | None = None


def read_case(desk: Desk, reference: str, now: datetime, tz: tzinfo | None) -> CaseRead:
    """`load` and the order facts' sources in a read transaction of their own (the wizard's workers)."""
    try:
        with desk.reader() as s:
            view = load(s, reference.strip().upper())
            return CaseRead(view, fact_sources(s, view.ticket, now, tz))
    except DeskError as exc:
        return CaseRead(error=exc)


# -- services ----------------------------------------------------------------
def start_review(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None,
    now: datetime,
    cal: BusinessCalendar | None = None,
) -> Ticket:
    """submitted -> under_review; the agent takes the case (if unassigned)."""
    now = aware(now)
    t = begin_case(session, actor, reference, expected_version, "review refund cases")
    need_status(t, (S.SUBMITTED.value,), "start the review")
    if t.review_due_at is None:
        t.review_due_at = clock_due(calendar_for(cal, None), Clock.REFUND_REVIEW, t.received_at)
    if t.assignee_id is None:
        t.assignee_id = actor.id
    set_status(session, t, actor.login, S.UNDER_REVIEW.value, now)
    refresh_due(t)  # the acknowledgment clock while it runs, else the review
    finish(t, actor.login, now)
    return t


def record_facts(
    session: Session,
    actor: Actor,
    reference: str,
    facts: dict[str, Any],
    *,
    expected_version: int | None,
    now: datetime,
    cal: BusinessCalendar | None = None,
    config: DeskConfig | None = None,
) -> dict[str, Any]:
    """Store the facts and decide with the engine under the desk's rules. A
    decision other than needs_info moves the case to `decided` (event
    "decided" citing the sections) and starts the "decision communicated"
    clock (due at the review deadline); needs_info keeps it under review
    (event "facts"). A chargeback still open pauses the clock until its
    outcome is recorded. Returns the decision (the contract's Decision)."""
    now = aware(now)
    t = begin_case(session, actor, reference, expected_version, "decide refunds")
    need_status(t, DECIDABLE, "record facts")
    case = case_for_write(session, t)
    if case.approved_at is not None:
        raise IllegalTransition(
            f"{t.reference}: the refund was approved on {case.approved_at.date().isoformat()}; its facts can no longer change"
        )
    f = parse_facts(facts)
    d = record_decision(case, f, rules=rules_from_config(config))
    if t.paused_since is not None and d["outcome"] != "needs_info" and not d.get("chargeback_pending"):
        waiting.resume(session, t, now, calendar_for(cal, config), actor)  # the facts arrived: the wait is over
    if t.status == S.SUBMITTED.value:
        if t.assignee_id is None:
            t.assignee_id = actor.id
        set_status(session, t, actor.login, S.UNDER_REVIEW.value, now)
        if t.review_due_at is None:
            t.review_due_at = clock_due(calendar_for(cal, None), Clock.REFUND_REVIEW, t.received_at)
    if d["outcome"] == "needs_info":
        history.record(
            session,
            stored_id(t),
            actor.login,
            "facts",
            now,
            t.status,
            S.UNDER_REVIEW.value,
            outcome="needs_info",
            missing=d["missing"],
            sections=d["sections"],
        )
        t.status = S.UNDER_REVIEW.value
        t.decided_at = None
        refresh_due(t)
    else:
        history.record(
            session,
            stored_id(t),
            actor.login,
            "decided",
            now,
            t.status,
            S.DECIDED.value,
            outcome=d["outcome"],
            sections=d["sections"],
            policy=d["policy"],
            policy_version=d["policy_version"],
            max_refund=d["max_refund"],
            currency=d["currency"],
        )
        t.status = S.DECIDED.value
        t.decided_at = now
        # the review clock stopped; the decision must reach the customer by the review deadline
        run_clock(t, Clock.REFUND_DECISION, t.review_due_at)
        if d.get("chargeback_pending") and t.paused_since is None:
            waiting.pause(session, t, actor, now, reason="waiting for the outcome of the customer's chargeback")
    finish(t, actor.login, now)
    return d


def record_alternative(
    session: Session,
    actor: Actor,
    reference: str,
    alternative: str,
    *,
    expected_version: int | None,
    now: datetime,
    partial_amount: float | None = None,
    cal: BusinessCalendar | None = None,
    config: DeskConfig | None = None,
) -> dict[str, Any]:
    """The customer accepted an alternative (partial refund, store credit,
    replacement eSIM, extended support): re-decide with it as a fact."""
    if alternative not in ALTERNATIVES:
        raise InputError(f"unknown alternative {alternative!r} (one of: {', '.join(ALTERNATIVES)})")
    t = tickets.get(session, reference)
    check_kind(t)
    case = case_row(session, t)
    base = order_facts(session, t)
    if case is not None:
        base.update(json.loads(case.facts or "{}"))
    base["alternative"] = alternative
    if partial_amount is not None:
        base["partial_amount"] = partial_amount
    return record_facts(
        session, actor, reference, base, expected_version=expected_version, now=now, cal=cal, config=config
    )


def missing_request_text(decision: dict[str, Any]) -> str:
    """What the customer must send, one line per missing fact."""
    return "\n".join(f"- {ASK.get(n, n.replace('_', ' '))}" for n in decision.get("missing", []))


def request_information(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None,
    now: datetime,
    config: DeskConfig | None = None,
    request: str | None = None,
) -> Message | None:
    """For a needs_info decision: queue an information request naming what to
    send, and pause the review clock (event "pause", paused_since; a repeated
    request while already waiting keeps the first pause). Returns the queued
    message (None when the customer has no email address)."""
    now = aware(now)
    t = begin_case(session, actor, reference, expected_version, "request information")
    need_status(t, (S.UNDER_REVIEW.value,), "request information")
    case = case_row(session, t)
    d = json.loads(case.decision) if case is not None and case.decision else None
    if d is None or d.get("outcome") != "needs_info":
        raise IllegalTransition(
            f"{t.reference}: an information request needs a needs_info decision (record the facts first)"
        )
    text = (request or "").strip() or missing_request_text(d)
    msg = outbox.queue(
        session,
        t,
        "refund_information_request",
        now=now,
        author=actor.login,
        config=config or DeskConfig(),
        request=text,
    )
    wanted = ", ".join(d.get("missing", []))
    if t.paused_since is None:
        waiting.pause(session, t, actor, now, reason="information requested: " + wanted)
    else:  # already waiting since an earlier request: the clock stays paused from then
        history.record(
            session,
            stored_id(t),
            actor.login,
            "information_requested",
            now,
            t.status,
            t.status,
            missing=d.get("missing", []),
            waiting_since=t.paused_since,
        )
    finish(t, actor.login, now)
    return msg


def customer_replied(
    session: Session,
    actor: Actor | None,
    reference: str,
    *,
    now: datetime,
    cal: BusinessCalendar | None = None,
    config: DeskConfig | None = None,
    expected_version: int | None = None,
) -> datetime | None:
    """The customer answered: resume the review clock (event "resume"); the
    review deadline moves later by the business days spent waiting. `actor`
    None means the system (mail intake). Returns the new review deadline."""
    now = aware(now)
    if actor is not None:
        t = begin_case(session, actor, reference, expected_version, "resume refund reviews")
    else:
        t = tickets.lock(session, reference, expected_version)
        check_kind(t)
    if t.paused_since is None:
        return None
    new_due = waiting.resume(session, t, now, calendar_for(cal, config), actor)
    finish(t, actor.login if actor else None, now)
    return new_due


def _ack_values(session: Session, t: Ticket, cal: BusinessCalendar) -> dict[str, str]:
    return {"review_due": tpl.customer_date(cal, t.review_due_at)}


def acknowledge(
    session: Session,
    actor: Actor | None,
    reference: str,
    *,
    now: datetime,
    config: DeskConfig | None = None,
    expected_version: int | None = None,
) -> Message | None:
    """Acknowledge a refund request (esimium 4.2, 24 hours): the mail gives
    the reference, what happens next and when to expect the review; the
    acknowledgment clock stops. `actor` None is the system (intake with
    `[refunds] auto_acknowledge`)."""
    mid = acknowledge_id(session, actor, reference, now=now, config=config, expected_version=expected_version)
    return None if mid is None else session.get(Message, mid)


def acknowledge_id(
    session: Session,
    actor: Actor | None,
    reference: str,
    *,
    now: datetime,
    config: DeskConfig | None,
    expected_version: int | None,
    ticket: Any = None,
) -> int | None:
    """`acknowledge`: the id of the mail queued (None: none was). `ticket`:
    the refund ticket's row (a SimpleNamespace of its columns), changed here
    and written back by the caller, instead of a locked ORM Ticket (intake:
    app.mail.tickets.auto_acknowledge)."""
    now = aware(now)
    config = config or DeskConfig()
    if actor is not None:
        t = begin_case(session, actor, reference, expected_version, "acknowledge refund requests")
    elif ticket is not None:
        t = ticket
    else:
        t = tickets.lock(session, reference, expected_version)
        check_kind(t)
    if t.acknowledged_at is not None:
        raise IllegalTransition(f"{t.reference} was acknowledged on {t.acknowledged_at.date().isoformat()}")
    if t.status == S.CLOSED.value:
        raise IllegalTransition(f"{t.reference} is closed")
    cal = calendar_for(None, config)
    if t.review_due_at is None:
        t.review_due_at = clock_due(cal, Clock.REFUND_REVIEW, t.received_at)
    login = actor.login if actor else None
    rendered = outbox.render_for(session, t, "refund_acknowledgment", config=config, **_ack_values(session, t, cal))
    mid = outbox.queue_message(session, t, rendered, now=now, author=login, config=config)
    t.acknowledged_at = now
    history.record(
        session,
        stored_id(t),
        login,
        "acknowledged",
        now,
        t.status,
        t.status,
        ack_due_at=t.ack_due_at,
        review_due_at=t.review_due_at,
        message_id=mid,
    )
    if t.decided_at is None:
        refresh_due(t)
    finish(t, login, now)
    return mid


__all__ = [
    "DECIDABLE",
    "DENIABLE_BY_APPROVER",
    "INVESTIGATION_RESULTS",
    "NO_MONEY_OUTCOMES",
    "PERMISSION",
    "CaseView",
    "acknowledge",
    "acknowledge_id",
    "approval_terms",
    "approve",
    "complete",
    "customer_replied",
    "deny",
    "load",
    "mark_initiated",
    "missing_request_text",
    "order_facts",
    "record_alternative",
    "record_facts",
    "record_investigation",
    "refer",
    "request_information",
    "start_review",
    "with_rights",
]
