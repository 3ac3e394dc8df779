"""After approval: when the money should move, and the customer notices the
policy promises (esimium 5.4: approved; initiated)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.errors import InputError
from app.refunds.policies import MilestoneSpec, get_version, method_words


def milestones(
    policy_id: str, approved_at: datetime, cal: Any, refund_method: str | None = None
) -> list[dict[str, Any]]:
    """Expected milestones of an approved refund, dated with the business
    calendar `cal` (app.business_calendar.BusinessCalendar), as the policy
    file lists them for the refund method (its "milestones").

    Each item: name, earliest_date, due_date (local dates, ISO), expected_at
    (the deadline instant: end of the due day in the desk's timezone),
    source_section, label, promise (the notice's words for the period)."""
    if approved_at.tzinfo is None or approved_at.utcoffset() is None:
        raise InputError("approved_at must carry a timezone")
    pv = get_version(policy_id)  # unknown policy -> InputError
    return [_dated(m, approved_at, cal) for m in pv.milestones_for(refund_method)]


def _dated(m: MilestoneSpec, approved_at: datetime, cal: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": m.name,
        "label": m.label,
        "earliest_date": None,
        "due_date": None,
        "expected_at": None,
        "source_section": m.section,
        "promise": m.promise,
    }
    if m.due is None or m.earliest is None:
        return out
    if m.unit == "business_days":
        earliest, due = cal.add_business_days(approved_at, m.earliest), cal.add_business_days(approved_at, m.due)
    else:  # calendar days, counted in the desk's time zone
        earliest = cal.local_date(cal.add_calendar_days(approved_at, m.earliest))
        due = cal.local_date(cal.add_calendar_days(approved_at, m.due))
    out.update(
        earliest_date=earliest.isoformat(), due_date=due.isoformat(), expected_at=cal.end_of_local_day(due).isoformat()
    )
    return out


def in_account_due(cal: Any, policy_id: str, approved_at: datetime) -> datetime:
    """When the money should be in the customer's account: the policy's
    "in_account" milestone (esimium 5.1: 15 business days; airalo 6.1.13: up
    to 30 days, also for Airmoney and credit points, for which the terms name
    no period)."""
    (m,) = (m for m in get_version(policy_id).milestones_for(None) if m.name == "in_account")
    return datetime.fromisoformat(_dated(m, approved_at, cal)["expected_at"])


def _fmt_money(decision: dict[str, Any]) -> str:
    return f"{float(decision.get('max_refund') or 0):.2f} {decision.get('currency', '')}".strip()


def _notice_words(decision: dict[str, Any], method: str | None) -> str | None:
    words = method_words(decision, method)
    return words.notice if words else None


def _amount_line(decision: dict[str, Any]) -> str:
    """Amount and method (the policy file's words); a combined payment's parts
    each to their own method."""
    cur = decision.get("currency", "")
    parts = [
        (p, said) for p in decision.get("refund_parts") or [] if (said := _notice_words(decision, p.get("method")))
    ]
    if len(parts) > 1:
        each = " and ".join(f"{float(p['amount']):.2f} {cur} to {said}" for p, said in parts)
        return f"Amount: {_fmt_money(decision)}: {each}"
    method = _notice_words(decision, decision.get("refund_method")) or _notice_words(decision, "original_payment")
    return f"Amount: {_fmt_money(decision)}, to {method}"


def _fee_line(decision: dict[str, Any]) -> str | None:
    fee = float(decision.get("processing_fee") or 0)
    if fee > 0:
        return f"Processing fee: {fee:.2f} {decision.get('currency', '')} (deducted; the amount above is what you receive)."
    if decision.get("processing_fee_may_apply"):
        return "Processing fee: none."
    return None


def notice_text(kind: str, decision: dict[str, Any], milestone_list: list[dict[str, Any]]) -> str:
    """Plain-text customer notice: kind 'approved' or 'initiated' (esimium
    5.4), stating the amount, any processing fee and the method."""
    by_name = {m["name"]: m for m in milestone_list}
    secs = ", ".join(decision.get("sections", [])[:2])
    fee = _fee_line(decision)
    if kind == "approved":
        lines = [
            "Your refund request has been approved.",
            f"{_amount_line(decision)} (policy section {secs}).",
        ]
        if fee:
            lines.append(fee)
        if "initiated" in by_name:
            m = by_name["initiated"]
            lines.append(f"We will initiate the refund by {m['due_date']} ({m['promise']}).")
        if "in_account" in by_name and by_name["in_account"].get("due_date"):
            lines.append(
                f"You should see it in your account by {by_name['in_account']['due_date']}, depending on your bank."
            )
        if "credited" in by_name:
            lines.append(by_name["credited"]["label"] + ".")
        lines.append("Refunds are made in the original currency; your bank's exchange rate may differ slightly.")
        return "\n".join(lines)
    if kind == "initiated":
        lines = [
            "Your refund has been initiated and sent to our payment processor.",
            f"{_amount_line(decision)}.",
        ]
        if fee:
            lines.append(fee)
        if "sent_to_processor_done" in by_name:
            lines.append(
                f"The payment processor usually completes it by {by_name['sent_to_processor_done']['due_date']}."
            )
        if "in_account" in by_name and by_name["in_account"].get("due_date"):
            lines.append(
                f"Expected in your account by {by_name['in_account']['due_date']}, depending on your bank or card issuer."
            )
        return "\n".join(lines)
    raise InputError(f"unknown notice kind {kind!r} (approved, initiated)")
