"""A refund fact in plain words: its name and its value as a person reads them.

The wizard's "Facts read" line and its "Establish …" prompts showed the facts
as stored: `data_used_mb = 0.0, delivered_at = 2026-11-14T14:47:51+00:00`,
code names and a UTC instant. Here each fact has a label once, and a value is
said in the desk's time zone, in MB, as yes or no.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app import labels
from app.refunds.facts import FACT_KINDS

FACT_LABELS: dict[str, str] = {
    "purchase_at": "bought",
    "request_at": "refund asked",
    "amount_paid": "paid",
    "currency": "currency",
    "reason": "reason",
    "payment_method": "paid by",
    "customer_type": "customer",
    "quantity": "quantity",
    "delivered_at": "eSIM delivered",
    "installed": "installed",
    "activated": "activated",
    "data_used_mb": "data used",
    "validity_expired": "validity over",
    "provider_fault_confirmed": "seller's fault confirmed",
    "instructions_followed": "instructions followed",
    "troubleshooting_completed": "troubleshooting done",
    "invoice_received_at": "invoice received",
    "documentation_provided": "documents supplied",
    "fraud_evidence": "signs of fraud",
    "tos_violation": "terms broken",
    "chargeback_filed": "chargeback filed",
    "alternative": "alternative agreed",
    "partial_amount": "partial amount",
    "airmoney_amount": "paid in Airmoney",
    "refund_to": "refund to",
    "chargeback_outcome": "chargeback outcome",
}
# what an empty value means, where it means more than "not known"
_EMPTY = {"delivered_at": "never", "invoice_received_at": "not yet", "chargeback_outcome": "pending"}


def fact_label(name: str) -> str:
    return FACT_LABELS.get(name, labels.words(name))


def fact_value(name: str, value: Any, tz: ZoneInfo | str = "UTC") -> str:
    """`value` of fact `name` in words (instants in `tz`, the desk's time zone)."""
    if value is None or value == "":
        return _EMPTY.get(name, "not known")
    if isinstance(value, bool):
        return "yes" if value else "no"
    kind = FACT_KINDS.get(name, "")
    if kind.startswith("datetime"):
        when = value if isinstance(value, datetime) else _instant(value)
        if when is None:
            return labels.words(str(value))
        return labels.local_time(when if when.tzinfo else when.replace(tzinfo=UTC), tz)
    if name == "data_used_mb":
        return f"{float(value):g} MB"
    if kind.startswith("amount"):
        return f"{float(value):.2f}"
    if name == "customer_type":
        return labels.customer_type(str(value))
    return labels.words(str(value))


def facts_read(names: tuple[str, ...] | list[str], facts: dict[str, Any], tz: ZoneInfo | str = "UTC") -> str:
    """The facts a step read, as one line: "reason: unused data · activated: no"."""
    return " · ".join(f"{fact_label(n)}: {fact_value(n, facts.get(n), tz)}" for n in names)


def _instant(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None
