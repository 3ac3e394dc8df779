"""Approving a decided refund case: the approver's amount and fee (case by
case, within what was paid), what must be recorded first (a chargeback's
outcome, troubleshooting, an investigation finding: record_investigation),
then milestones, the initiation clock and the "approved" notice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session

from app import history
from app.business_calendar import BusinessCalendar
from app.config import DeskConfig
from app.errors import IllegalTransition, InputError
from app.identity import Actor
from app.refund_case_base import (
    S,
    begin_case,
    calendar_for,
    case_for_write,
    finish,
    need_status,
    run_clock,
    stored_decision,
    with_rights,
)
from app.refunds import notice_text
from app.refunds.records import APPROVABLE, record_approval
from app.sla_clocks import clock_due
from app.workflow import outbox
from app.workflow.guard import aware
from models import RefundCase, Ticket
from models.enums import Clock
from models.tables import stored_id


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


def approved_decision(d: dict[str, Any], amount: Decimal, fee: Decimal) -> dict[str, Any]:
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
    cal = calendar_for(cal, config)
    t = begin_case(session, actor, reference, expected_version, "approve refunds")
    need_status(t, (S.DECIDED.value,), "approve")
    case = case_for_write(session, t)
    if case.approved_at is not None:
        raise IllegalTransition(f"{t.reference}: already approved on {case.approved_at.date().isoformat()}")
    if case.outcome not in APPROVABLE:
        raise IllegalTransition(
            f"{t.reference}: a {case.outcome or 'undecided'} case cannot be approved (only {', '.join(APPROVABLE)})"
        )
    d = stored_decision(case)
    blocker = _approval_blocker(t, case, d)
    if blocker:
        raise IllegalTransition(blocker)
    if float(d.get("max_refund") or 0) <= 0:
        raise IllegalTransition(f"{t.reference}: nothing refundable (max_refund 0); record the agreed amount first")
    amount_d, fee_d = approval_terms(d, amount, fee)
    ms = record_approval(case, now, cal)
    case.approved_amount, case.processing_fee = amount_d, fee_d
    case.decision_sent_at = now
    approved = approved_decision(d, amount_d, fee_d)
    run_clock(t, Clock.REFUND_INITIATION, clock_due(cal, Clock.REFUND_INITIATION, now))
    history.record(
        session,
        stored_id(t),
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
    finish(t, actor.login, now)
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
    t = begin_case(session, actor, reference, expected_version, "record investigation findings")
    need_status(t, (S.DECIDED.value,), "record an investigation finding")
    case = case_for_write(session, t)
    d = stored_decision(case)
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
        stored_id(t),
        actor.login,
        "investigation",
        now,
        t.status,
        t.status,
        result=result,
        sections=d.get("sections", [])[:1],
    )
    finish(t, actor.login, now)
    return case
