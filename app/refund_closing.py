"""Carrying out a decided refund case: the refund sent to the processor
(mark_initiated), the money arrived or the alternative given (complete),
or the case closed with its decision mail (deny, refer).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from app.business_calendar import BusinessCalendar
from app.config import DeskConfig
from app.errors import IllegalTransition, InputError
from app.identity import Actor
from app.refund_approval import approved_decision
from app.refund_case_base import (
    NO_MONEY_OUTCOMES,
    S,
    begin_case,
    calendar_for,
    case_for_write,
    close_case,
    finish,
    need_status,
    run_clock,
    set_status,
    stored_decision,
    with_rights,
)
from app.refunds import milestones, notice_text
from app.sla_clocks import refund_in_account_due
from app.workflow import outbox
from app.workflow.guard import aware
from models import Message, Ticket
from models.enums import Clock, CloseReason


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
    cal = calendar_for(cal, config)
    t = begin_case(session, actor, reference, expected_version, "initiate refunds")
    need_status(t, (S.DECIDED.value,), "mark the refund initiated")
    case = case_for_write(session, t)
    if case.approved_at is None:
        raise IllegalTransition(f"{t.reference}: the refund is not approved yet")
    d = stored_decision(case)
    ms = milestones(case.policy, case.approved_at, cal, refund_method=case.refund_method)
    case.initiated_at = now
    case.sent_to_processor_at = now
    met = case.initiated_due_at is None or now <= case.initiated_due_at
    set_status(session, t, actor.login, S.PROCESSING.value, now, milestone="initiated", on_time=met)
    if case.expected_in_account_at is None:
        case.expected_in_account_at = refund_in_account_due(cal, case.policy, case.approved_at)
    run_clock(t, Clock.REFUND_IN_ACCOUNT, case.expected_in_account_at)
    approved = approved_decision(
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
    finish(t, actor.login, now)
    return t


def complete(session: Session, actor: Actor, reference: str, *, expected_version: int | None, now: datetime) -> Ticket:
    """The money arrived (processing -> closed), or the accepted store credit /
    replacement eSIM was given (decided -> closed)."""
    now = aware(now)
    t = begin_case(session, actor, reference, expected_version, "complete refunds")
    case = case_for_write(session, t)
    if t.status == S.DECIDED.value and case.outcome in NO_MONEY_OUTCOMES:
        close_case(
            session, t, actor.login, CloseReason.REFUND_COMPLETED, now, alternative=case.alternative or case.outcome
        )
    else:
        need_status(t, (S.PROCESSING.value,), "complete the refund")
        close_case(session, t, actor.login, CloseReason.REFUND_COMPLETED, now)
    case.completed_at = now
    finish(t, actor.login, now)
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
    t = begin_case(session, actor, reference, expected_version, doing)
    need_status(t, (S.DECIDED.value,), doing)
    case = case_for_write(session, t)
    if case.outcome not in outcomes:
        raise IllegalTransition(
            f"{t.reference}: the policy decision is {case.outcome or 'none'}, not {' or '.join(outcomes)}"
        )
    if case.approved_at is not None:
        raise IllegalTransition(f"{t.reference}: already approved on {case.approved_at.date().isoformat()}")
    d = stored_decision(case)
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
    close_case(session, t, actor.login, reason, now, sections=d["sections"], refer_to=d.get("refer_to"), **detail)
    finish(t, actor.login, now)
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
