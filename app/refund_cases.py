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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app import history, tickets
from app.business_calendar import BusinessCalendar, desk_calendar
from app.config import DeskConfig
from app.errors import IllegalTransition, InputError
from app.identity import Actor
from app.refunds import milestones, notice_text, parse_facts, rules_from_config
from app.refunds.engine import ASK
from app.refunds.facts import ALTERNATIVES
from app.refunds.policies import default_policy
from app.refunds.records import APPROVABLE, record_approval, record_decision
from app.sla_clocks import clock_due, refund_in_account_due
from app.workflow import outbox, waiting
from app.workflow import templates as tpl
from app.workflow.guard import aware, refresh_due
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
    return order.brand if order is not None else default_policy()


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


def _set_status(
    session: Session, t: Ticket, login: str, to: str, now: datetime, action: str = "status", **detail
) -> None:
    history.record(session, t.id, login, action, now, t.status, to, **detail)
    t.status = to


def _finish(t: Ticket, login: str | None, now: datetime) -> None:
    tickets.touch(t, login, now)


def _run_clock(t: Ticket, clock: Clock, due: datetime | None) -> None:
    """Point the ticket at a refund clock that runs after the decision."""
    t.due_clock, t.due_at = clock.value, due


def with_rights(text: str, decision: dict[str, Any] | None) -> str:
    """The decision text with the policy's statutory-rights paragraph (esimium)."""
    rights = (decision or {}).get("statutory_rights") or ""
    if not rights or rights in text:
        return text
    return text.rstrip() + "\n\n" + rights


def _cal(cal: BusinessCalendar | None, config: DeskConfig | None) -> BusinessCalendar:
    return cal if cal is not None else desk_calendar(config or DeskConfig())


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
    t = _begin(session, actor, reference, expected_version, "review refund cases")
    _need_status(t, (S.SUBMITTED.value,), "start the review")
    if t.review_due_at is None:
        t.review_due_at = clock_due(_cal(cal, None), Clock.REFUND_REVIEW, t.received_at)
    if t.assignee_id is None:
        t.assignee_id = actor.id
    _set_status(session, t, actor.login, S.UNDER_REVIEW.value, now)
    refresh_due(t)  # the acknowledgment clock while it runs, else the review
    _finish(t, actor.login, now)
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
    t = _begin(session, actor, reference, expected_version, "decide refunds")
    _need_status(t, DECIDABLE, "record facts")
    case = _case_for_write(session, t)
    if case.approved_at is not None:
        raise IllegalTransition(
            f"{t.reference}: the refund was approved on {case.approved_at.date().isoformat()}; its facts can no longer change"
        )
    f = parse_facts(facts)
    d = record_decision(case, f, rules=rules_from_config(config))
    if t.paused_since is not None and d["outcome"] != "needs_info" and not d.get("chargeback_pending"):
        waiting.resume(session, t, now, _cal(cal, config), actor)  # the facts arrived: the wait is over
    if t.status == S.SUBMITTED.value:
        if t.assignee_id is None:
            t.assignee_id = actor.id
        _set_status(session, t, actor.login, S.UNDER_REVIEW.value, now)
        if t.review_due_at is None:
            t.review_due_at = clock_due(_cal(cal, None), Clock.REFUND_REVIEW, t.received_at)
    if d["outcome"] == "needs_info":
        history.record(
            session,
            t.id,
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
            t.id,
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
        _run_clock(t, Clock.REFUND_DECISION, t.review_due_at)
        if d.get("chargeback_pending") and t.paused_since is None:
            waiting.pause(session, t, actor, now, reason="waiting for the outcome of the customer's chargeback")
    _finish(t, actor.login, now)
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
    _check_kind(t)
    case = _case_row(session, t)
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
    t = _begin(session, actor, reference, expected_version, "request information")
    _need_status(t, (S.UNDER_REVIEW.value,), "request information")
    case = _case_row(session, t)
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
            t.id,
            actor.login,
            "information_requested",
            now,
            t.status,
            t.status,
            missing=d.get("missing", []),
            waiting_since=t.paused_since,
        )
    _finish(t, actor.login, now)
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
        t = _begin(session, actor, reference, expected_version, "resume refund reviews")
    else:
        t = tickets.lock(session, reference, expected_version)
        _check_kind(t)
    if t.paused_since is None:
        return None
    new_due = waiting.resume(session, t, now, _cal(cal, config), actor)
    _finish(t, actor.login if actor else None, now)
    return new_due


def _amount(value: Any, name: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InputError(f"{name} {value!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise InputError(f"{name} must be a number >= 0, got {value}")
    if d != d.quantize(Decimal("0.01")):
        raise InputError(f"{name} has more than two decimals: {value}")
    return d


def _approval_blocker(t: Ticket, case: RefundCase, d: dict[str, Any]) -> str | None:
    """Why money may not move yet (None when it may)."""
    waits = d.get("waits_for")
    if d.get("chargeback_pending") or waits == "chargeback_outcome":
        return (
            f"{t.reference}: the customer's chargeback is still open; record its outcome first "
            "(the bank may return the money itself; esimium 7.1-7.3); offer the evidence pack meanwhile"
        )
    if waits == "troubleshooting":
        return f"{t.reference}: collaborative troubleshooting must be done first (airalo 6.1.2, 6.1.3)"
    if waits == "investigation_finding":
        if case.investigation_result is None:
            return (
                f"{t.reference}: an unauthorised purchase is refunded only after investigation and confirmation "
                "(airalo 6.1.7); record the finding first (who, when, result)"
            )
        if case.investigation_result != "confirmed":
            return (
                f"{t.reference}: the investigation ({case.investigation_by}, "
                f"{case.investigation_at.date().isoformat() if case.investigation_at else '?'}) did not confirm it; deny it with a reason"
            )
    return None


def approval_terms(d: dict[str, Any], amount: Any = None, fee: Any = None) -> tuple[Decimal, Decimal]:
    """(amount, fee) the approver may approve: a case-by-case (or
    investigated) refund needs the amount, never more than the maximum (the
    amount paid), and a processing fee only where the policy allows one;
    other outcomes refund their decided amount and take no fee."""
    top = Decimal(str(d.get("max_refund") or 0)).quantize(Decimal("0.01"))
    by_approver = d["outcome"] in ("case_by_case", "investigate")
    if amount is None:
        if d["outcome"] == "case_by_case":
            raise InputError(
                "a case-by-case refund is approved with an amount (at most "
                f"{top} {d.get('currency', '')}) and any processing fee"
            )
        amount_d = top
    else:
        amount_d = _amount(amount, "amount")
    fee_d = Decimal("0.00") if fee is None else _amount(fee, "processing fee")
    if amount_d <= 0:
        raise InputError("the amount must be more than 0; to refuse the refund, deny it with a reason")
    if fee_d > 0 and not d.get("processing_fee_may_apply"):
        raise InputError(
            f"no processing fee applies to a {d['outcome'].replace('_', ' ')} under sections "
            f"{', '.join(d.get('sections', [])[:2])}"
        )
    if amount_d + fee_d > top:
        raise InputError(f"amount {amount_d} plus fee {fee_d} is more than the {top} {d.get('currency', '')} paid")
    if not by_approver and amount_d != top:
        raise InputError(
            f"a {d['outcome'].replace('_', ' ')} refunds {top} {d.get('currency', '')}; "
            "the amount is not the approver's to change"
        )
    return amount_d, fee_d


def _approved_decision(d: dict[str, Any], amount: Decimal, fee: Decimal) -> dict[str, Any]:
    """The decision as approved: the approver's amount (split over a combined
    payment's methods in the same proportion) and fee."""
    out = dict(d)
    out["max_refund"] = float(amount)
    out["processing_fee"] = float(fee)
    parts = d.get("refund_parts") or []
    if len(parts) > 1:
        total = sum(Decimal(str(p["amount"])) for p in parts) or Decimal(1)
        air = (amount * Decimal(str(parts[1]["amount"])) / total).quantize(Decimal("0.01"))
        out["refund_parts"] = [
            {"method": parts[0]["method"], "amount": float(amount - air)},
            {"method": parts[1]["method"], "amount": float(air)},
        ]
    else:
        out["refund_parts"] = [{"method": d.get("refund_method"), "amount": float(amount)}]
    return out


def approve(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None,
    now: datetime,
    cal: BusinessCalendar | None = None,
    config: DeskConfig | None = None,
    amount: Any = None,
    fee: Any = None,
) -> list[dict[str, Any]]:
    """Approve a decided refund: milestones dated by the business calendar,
    the refund_initiation clock starts, the "approved" notice (amount, fee,
    method; esimium: the statutory-rights paragraph) is queued. A
    case-by-case refund takes the approver's `amount` (<= paid) and `fee`.
    Refused while money may not move yet (_approval_blocker)."""
    now = aware(now)
    cal = _cal(cal, config)
    t = _begin(session, actor, reference, expected_version, "approve refunds")
    _need_status(t, (S.DECIDED.value,), "approve")
    case = _case_for_write(session, t)
    if case.approved_at is not None:
        raise IllegalTransition(f"{t.reference}: already approved on {case.approved_at.date().isoformat()}")
    if case.outcome not in APPROVABLE:
        raise IllegalTransition(
            f"{t.reference}: a {case.outcome or 'undecided'} case cannot be approved (only {', '.join(APPROVABLE)})"
        )
    d = _decision(case)
    blocker = _approval_blocker(t, case, d)
    if blocker:
        raise IllegalTransition(blocker)
    if float(d.get("max_refund") or 0) <= 0:
        raise IllegalTransition(f"{t.reference}: nothing refundable (max_refund 0); record the agreed amount first")
    amount_d, fee_d = approval_terms(d, amount, fee)
    ms = record_approval(case, now, cal)
    case.approved_amount, case.processing_fee = amount_d, fee_d
    case.decision_sent_at = now
    approved = _approved_decision(d, amount_d, fee_d)
    _run_clock(t, Clock.REFUND_INITIATION, clock_due(cal, Clock.REFUND_INITIATION, now))
    history.record(
        session,
        t.id,
        actor.login,
        "approved",
        now,
        t.status,
        t.status,
        max_refund=d["max_refund"],
        amount=float(amount_d),
        processing_fee=float(fee_d),
        currency=d["currency"],
        refund_method=d["refund_method"],
        refund_parts=approved["refund_parts"],
        milestones=[{"name": m["name"], "due_date": m["due_date"]} for m in ms],
    )
    outbox.queue(
        session,
        t,
        "refund_approved",
        now=now,
        author=actor.login,
        config=config or DeskConfig(),
        notice=with_rights(notice_text("approved", approved, ms), d),
    )
    _finish(t, actor.login, now)
    return ms


INVESTIGATION_RESULTS = ("confirmed", "not_confirmed")


def record_investigation(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    result: str,
    note: str,
    expected_version: int | None,
    now: datetime,
) -> RefundCase:
    """The investigation finding of a case that waits for one (airalo 6.1.7
    unauthorised purchase): who (the actor), when (now) and the result.
    "confirmed" lets the refund be approved; "not_confirmed" leaves denial."""
    now = aware(now)
    result = str(result or "").strip()
    if result not in INVESTIGATION_RESULTS:
        raise InputError(f"investigation result must be {' or '.join(INVESTIGATION_RESULTS)}, got {result!r}")
    if not str(note or "").strip():
        raise InputError("the investigation finding needs a note: what was checked and found")
    t = _begin(session, actor, reference, expected_version, "record investigation findings")
    _need_status(t, (S.DECIDED.value,), "record an investigation finding")
    case = _case_for_write(session, t)
    d = _decision(case)
    if d.get("waits_for") != "investigation_finding":
        raise IllegalTransition(
            f"{t.reference}: the decision ({case.outcome}) does not wait for an investigation finding"
        )
    if case.approved_at is not None:
        raise IllegalTransition(f"{t.reference}: already approved")
    case.investigation_by, case.investigation_at = actor.login, now
    case.investigation_result, case.investigation_note = result, str(note).strip()
    history.record(
        session,
        t.id,
        actor.login,
        "investigation",
        now,
        t.status,
        t.status,
        result=result,
        sections=d.get("sections", [])[:1],
    )
    _finish(t, actor.login, now)
    return case


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
        t = _begin(session, actor, reference, expected_version, "acknowledge refund requests")
    elif ticket is not None:
        t = ticket
    else:
        t = tickets.lock(session, reference, expected_version)
        _check_kind(t)
    if t.acknowledged_at is not None:
        raise IllegalTransition(f"{t.reference} was acknowledged on {t.acknowledged_at.date().isoformat()}")
    if t.status == S.CLOSED.value:
        raise IllegalTransition(f"{t.reference} is closed")
    cal = _cal(None, config)
    if t.review_due_at is None:
        t.review_due_at = clock_due(cal, Clock.REFUND_REVIEW, t.received_at)
    login = actor.login if actor else None
    rendered = outbox.render_for(session, t, "refund_acknowledgment", config=config, **_ack_values(session, t, cal))
    mid = outbox.queue_message(session, t, rendered, now=now, author=login, config=config)
    t.acknowledged_at = now
    history.record(
        session,
        t.id,
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
    _finish(t, login, now)
    return mid


def mark_initiated(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None,
    now: datetime,
    cal: BusinessCalendar | None = None,
    config: DeskConfig | None = None,
) -> Ticket:
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
    if case.expected_in_account_at is None:
        case.expected_in_account_at = refund_in_account_due(cal, case.policy, case.approved_at)
    _run_clock(t, Clock.REFUND_IN_ACCOUNT, case.expected_in_account_at)
    approved = _approved_decision(
        d,
        case.approved_amount if case.approved_amount is not None else Decimal(str(d.get("max_refund") or 0)),
        case.processing_fee or Decimal("0"),
    )
    outbox.queue(
        session,
        t,
        "refund_initiated",
        now=now,
        author=actor.login,
        config=config or DeskConfig(),
        notice=notice_text("initiated", approved, ms),
    )
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


DENIABLE_BY_APPROVER = ("case_by_case", "investigate")


def _close_with_decision(
    session: Session,
    actor: Actor,
    reference: str,
    outcomes: tuple[str, ...],
    reason: CloseReason,
    *,
    expected_version: int | None,
    now: datetime,
    config: DeskConfig | None,
    doing: str,
    why: str | None = None,
) -> Message | None:
    now = aware(now)
    t = _begin(session, actor, reference, expected_version, doing)
    _need_status(t, (S.DECIDED.value,), doing)
    case = _case_for_write(session, t)
    if case.outcome not in outcomes:
        raise IllegalTransition(
            f"{t.reference}: the policy decision is {case.outcome or 'none'}, not {' or '.join(outcomes)}"
        )
    if case.approved_at is not None:
        raise IllegalTransition(f"{t.reference}: already approved on {case.approved_at.date().isoformat()}")
    d = _decision(case)
    text = d["explanation"]
    detail: dict[str, Any] = {}
    if case.outcome in DENIABLE_BY_APPROVER:
        why = str(why or "").strip()
        if not why:
            raise InputError(f"denying a {case.outcome.replace('_', ' ')} case needs the reason the customer will read")
        if d.get("chargeback_pending"):
            raise IllegalTransition(f"{t.reference}: the customer's chargeback is still open; record its outcome first")
        if d.get("waits_for") == "investigation_finding" and case.investigation_result is None:
            raise IllegalTransition(f"{t.reference}: record the investigation finding first (who, when, result)")
        secs = ", ".join(d.get("sections", [])[:2])
        text = (
            f"We have reviewed your refund request under our refund policy (section {secs}) and are unable to "
            f"approve a refund. {why}"
        )
        detail["denial_reason"] = why
    msg = outbox.queue(
        session,
        t,
        "refund_decision",
        now=now,
        author=actor.login,
        config=config or DeskConfig(),
        explanation=with_rights(text, d),
    )
    case.decision_sent_at = now
    _close(session, t, actor.login, reason, now, sections=d["sections"], refer_to=d.get("refer_to"), **detail)
    _finish(t, actor.login, now)
    return msg


def deny(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None,
    now: datetime,
    config: DeskConfig | None = None,
    reason: str | None = None,
) -> Message | None:
    """Send the denial and close (refund_denied): a denied decision with its
    explanation; a case-by-case (or unconfirmed investigated) case with the
    approver's `reason`."""
    return _close_with_decision(
        session,
        actor,
        reference,
        ("denied", *DENIABLE_BY_APPROVER),
        CloseReason.REFUND_DENIED,
        expected_version=expected_version,
        now=now,
        config=config,
        doing="deny refunds",
        why=reason,
    )


def refer(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None,
    now: datetime,
    config: DeskConfig | None = None,
) -> Message | None:
    """Tell the customer who decides instead (reseller, business team,
    provider) and close (referred)."""
    return _close_with_decision(
        session,
        actor,
        reference,
        ("refer",),
        CloseReason.REFERRED,
        expected_version=expected_version,
        now=now,
        config=config,
        doing="refer refunds",
    )
