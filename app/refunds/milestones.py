"""After approval: when the money should move, and the customer notices the
policy promises (esimium 5.4: approved; initiated)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from app.errors import InputError
from app.refunds.policies import versions

# (name, business days from approval: earliest, latest, section). esimium 5.1:
# initiation 1-2 bd; processor 3-5 bd after; in the account 7-15 bd in total.
_ESIMIUM = (
    ("initiated", 1, 2, "5.1"),
    ("sent_to_processor_done", 1 + 3, 2 + 5, "5.1"),
    ("in_account", 7, 15, "5.1"),
)


def milestones(policy_id: str, approved_at: datetime, cal: Any, refund_method: str | None = None) -> list[dict[str, Any]]:
    """Expected milestones of an approved refund, dated with the business
    calendar `cal` (app.business_calendar.BusinessCalendar).

    Each item: name, earliest_date, due_date (local dates, ISO), expected_at
    (the deadline instant: end of the due day in the desk's timezone),
    source_section, label."""
    if approved_at.tzinfo is None or approved_at.utcoffset() is None:
        raise InputError("approved_at must carry a timezone")
    versions(policy_id)  # unknown policy -> InputError
    out: list[dict[str, Any]] = []
    if policy_id == "esimium":
        labels = {
            "initiated": "Refund initiated (1-2 business days after approval)",
            "sent_to_processor_done": "Payment processor done (3-5 business days after initiation)",
            "in_account": "Funds in the customer's account (7-15 business days after approval)",
        }
        for name, lo, hi, sec in _ESIMIUM:
            due = cal.add_business_days(approved_at, hi)
            out.append({
                "name": name, "label": labels[name],
                "earliest_date": cal.add_business_days(approved_at, lo).isoformat(),
                "due_date": due.isoformat(), "expected_at": cal.due_at(approved_at, hi).isoformat(),
                "source_section": sec,
            })
        return out
    if policy_id == "airalo":
        if refund_method in ("airmoney", "credit_points_or_credit_note"):
            what = "Airmoney credited to the account" if refund_method == "airmoney" else "Credit points or credit note issued"
            sec = "6.1.12.1.7" if refund_method == "airmoney" else "6.1.13.1"
            return [{"name": "credited", "label": what + " after processing (no stated period)",
                     "earliest_date": None, "due_date": None, "expected_at": None, "source_section": sec}]
        end = cal.add_calendar_days(approved_at, 30)
        return [{"name": "in_account", "label": "Refund in the bank account (up to 30 days, depending on the bank)",
                 "earliest_date": cal.local_date(approved_at).isoformat(), "due_date": cal.local_date(end).isoformat(),
                 "expected_at": end.isoformat(), "source_section": "6.1.13"}]
    raise InputError(f"no milestones defined for policy {policy_id!r}")  # pragma: no cover


def _fmt_money(decision: dict[str, Any]) -> str:
    return f"{float(decision.get('max_refund') or 0):.2f} {decision.get('currency', '')}".strip()


_METHOD = {
    "original_payment": "your original payment method",
    "airmoney": "your Airalo account as Airmoney",
    "credit_points_or_credit_note": "your account as Airalo credit points or a credit note",
}


def _amount_line(decision: dict[str, Any]) -> str:
    """Amount and method; a combined payment's parts each to their own method."""
    cur = decision.get("currency", "")
    parts = [p for p in decision.get("refund_parts") or [] if p.get("method") in _METHOD]
    if len(parts) > 1:
        each = " and ".join(f"{float(p['amount']):.2f} {cur} to {_METHOD[p['method']]}" for p in parts)
        return f"Amount: {_fmt_money(decision)}: {each}"
    method = _METHOD.get(decision.get("refund_method", ""), _METHOD["original_payment"])
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
            lines.append(f"We will initiate the refund by {m['due_date']} (within 1-2 business days of approval).")
        if "in_account" in by_name and by_name["in_account"].get("due_date"):
            lines.append(f"You should see it in your account by {by_name['in_account']['due_date']}, depending on your bank.")
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
            lines.append(f"The payment processor usually completes it by {by_name['sent_to_processor_done']['due_date']}.")
        if "in_account" in by_name and by_name["in_account"].get("due_date"):
            lines.append(f"Expected in your account by {by_name['in_account']['due_date']}, depending on your bank or card issuer.")
        return "\n".join(lines)
    raise InputError(f"unknown notice kind {kind!r} (approved, initiated)")
