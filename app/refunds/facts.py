"""The facts of a refund case (the shared refund decision contract, "Facts") and their
validation. `parse_facts` reports every bad field at once, in one line."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from app.errors import InputError

REASONS: tuple[str, ...] = (
    "non_delivery",
    "technical_failure",
    "service_unavailable",
    "duplicate_charge",
    "incorrect_product",
    "billing_error",
    "cancel_before_activation",
    "device_incompatible",
    "installation_error",
    "wrong_purchase",
    "changed_plans",
    "no_longer_needed",
    "accidental_purchase",
    "unused_data",
    "validity_expired",
    "activation_window_missed",
    "network_coverage",
    "network_speed",
    "roaming_limitation",
    "unauthorized_purchase",
    "compensation_claim",
    "plan_change",
    "replacement_request",
    "medical_emergency",
    "force_majeure",
    "travel_restriction",
    "service_outage",
    "unused_credit_points",
    "other",
)
PAYMENT_METHODS: tuple[str, ...] = (
    "card",
    "paypal",
    "google_pay",
    "apple_pay",
    "alipay",
    "bank_transfer",
    "airmoney",
    "airmoney_promo",
    "credit_points",
)
CUSTOMER_TYPES: tuple[str, ...] = ("end_user", "business", "end_customer")
# Not in the contract's table (the engine may add): the alternative the customer
# accepted instead of a refund (esimium 4.3 / 6.1-6.4; airalo 6: replacement).
ALTERNATIVES: tuple[str, ...] = ("partial_refund", "store_credit", "replacement", "extended_support")
# Also additions (issue 17): the customer's choice of refund method (airalo
# 6.1.13), the outcome of a chargeback the customer filed (esimium 7).
REFUND_CHOICES: tuple[str, ...] = ("original_payment", "airmoney")
CHARGEBACK_OUTCOMES: tuple[str, ...] = ("withdrawn", "merchant_won", "customer_won")

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Facts:
    """Validated facts; datetimes are aware (UTC), optional facts have their defaults."""

    purchase_at: datetime
    request_at: datetime
    amount_paid: float
    currency: str
    reason: str
    payment_method: str = "card"
    customer_type: str = "end_user"
    quantity: int = 1
    delivered_at: datetime | None = None
    installed: bool = False
    activated: bool = False
    data_used_mb: float = 0
    validity_expired: bool = False
    provider_fault_confirmed: bool | None = None
    instructions_followed: bool | None = None
    troubleshooting_completed: bool | None = None
    invoice_received_at: datetime | None = None
    documentation_provided: bool | None = None
    fraud_evidence: bool = False
    tos_violation: bool = False
    chargeback_filed: bool = False
    alternative: str | None = None
    partial_amount: float | None = None
    airmoney_amount: float | None = None  # the Airmoney part of a combined payment (airalo 6.1.12.1.4)
    refund_to: str | None = None  # the customer's choice of method (airalo 6.1.13)
    chargeback_outcome: str | None = None  # null while a filed chargeback is pending

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (datetimes as ISO 8601 with offset); parse_facts round-trips it."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.isoformat() if isinstance(v, datetime) else v
        return out


FACT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Facts))

# kind per field: (kind, required, extra)
_SPEC: dict[str, tuple[str, bool, Any]] = {
    "purchase_at": ("datetime", True, None),
    "request_at": ("datetime", True, None),
    "amount_paid": ("amount", True, None),
    "currency": ("currency", True, None),
    "reason": ("enum", True, REASONS),
    "payment_method": ("enum", False, PAYMENT_METHODS),
    "customer_type": ("enum", False, CUSTOMER_TYPES),
    "quantity": ("count", False, None),
    "delivered_at": ("datetime?", False, None),
    "installed": ("bool", False, None),
    "activated": ("bool", False, None),
    "data_used_mb": ("amount", False, None),
    "validity_expired": ("bool", False, None),
    "provider_fault_confirmed": ("bool?", False, None),
    "instructions_followed": ("bool?", False, None),
    "troubleshooting_completed": ("bool?", False, None),
    "invoice_received_at": ("datetime?", False, None),
    "documentation_provided": ("bool?", False, None),
    "fraud_evidence": ("bool", False, None),
    "tos_violation": ("bool", False, None),
    "chargeback_filed": ("bool", False, None),
    "alternative": ("enum?", False, ALTERNATIVES),
    "partial_amount": ("amount?", False, None),
    "airmoney_amount": ("amount?", False, None),
    "refund_to": ("enum?", False, REFUND_CHOICES),
    "chargeback_outcome": ("enum?", False, CHARGEBACK_OUTCOMES),
}


# each fact's kind ("datetime", "bool?", "enum", "amount", ...)
FACT_KINDS: dict[str, str] = {name: kind for name, (kind, _required, _extra) in _SPEC.items()}


class _Bad(Exception):
    pass


def _datetime(v: Any) -> datetime:
    if isinstance(v, datetime):
        dt = v
    elif isinstance(v, str) and re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", v.strip()):
        try:
            dt = datetime.fromisoformat(v.strip())
        except ValueError:
            raise _Bad("not an ISO 8601 datetime") from None
    else:
        raise _Bad("not an ISO 8601 datetime")
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)  # the contract: no offset means UTC
    return dt.astimezone(UTC)


def _amount(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise _Bad("must be a number >= 0")
    return v


def _check(name: str, v: Any) -> Any:
    kind, _req, extra = _SPEC[name]
    if kind.endswith("?"):
        if v is None:
            return None
        kind = kind[:-1]
    if v is None:
        raise _Bad("must not be null")
    if kind == "datetime":
        return _datetime(v)
    if kind == "amount":
        return _amount(v)
    if kind == "currency":
        if not isinstance(v, str) or not _CURRENCY.match(v.strip().upper()):
            raise _Bad("not an ISO 4217 currency code")
        return v.strip().upper()
    if kind == "enum":
        if not isinstance(v, str) or v not in extra:
            raise _Bad(f"unknown value {v!r}" if isinstance(v, str) else "must be one of " + ", ".join(extra))
        return v
    if kind == "bool":
        if not isinstance(v, bool):
            raise _Bad("must be true or false" + (" or null" if _SPEC[name][0].endswith("?") else ""))
        return v
    if kind == "count":
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise _Bad("must be an integer >= 1")
        return v
    raise AssertionError(kind)  # pragma: no cover


def parse_facts(obj: Any) -> Facts:
    """Validate a facts object (a dict as read from JSON, or a Facts).
    Raises InputError naming every bad field and why, in one line."""
    if isinstance(obj, Facts):
        return obj
    if not isinstance(obj, dict):
        raise InputError("facts: must be a JSON object")
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key in obj:
        if key not in _SPEC:
            problems.append(f"{key}: unknown field")
    for name, (_kind, required, _extra) in _SPEC.items():
        if name not in obj:
            if required:
                problems.append(f"{name}: required")
            continue
        try:
            values[name] = _check(name, obj[name])
        except _Bad as exc:
            problems.append(f"{name}: {exc}")
    if not problems:
        if values["request_at"] < values["purchase_at"]:
            problems.append("request_at: before purchase_at")
        pa = values.get("partial_amount")
        if pa is not None and pa > values["amount_paid"]:
            problems.append("partial_amount: more than amount_paid")
        am = values.get("airmoney_amount")
        if am is not None and am > values["amount_paid"]:
            problems.append("airmoney_amount: more than amount_paid")
        if values.get("chargeback_outcome") is not None and not values.get("chargeback_filed", False):
            problems.append("chargeback_outcome: given but chargeback_filed is false")
    if problems:
        raise InputError("facts: " + "; ".join(problems))
    return Facts(**values)


def load_facts_text(text: str, source: str = "facts") -> Facts:
    """Parse JSON text into Facts (InputError on bad JSON or bad facts)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    return parse_facts(obj)


# What the wizard asks the agent when a step needs a fact that is still null
# (outcome needs_info): the question and its choices (value, label).
_YES_NO_UNKNOWN: tuple[tuple[bool | None, str], ...] = ((True, "Yes"), (False, "No"), (None, "Not known yet"))
FACT_PROMPTS: dict[str, tuple[str, tuple[tuple[Any, str], ...]]] = {
    "provider_fault_confirmed": (
        "Is the failure on the seller's side (not user error, not the network)?",
        _YES_NO_UNKNOWN,
    ),
    "instructions_followed": ("Did the customer follow the installation instructions?", _YES_NO_UNKNOWN),
    "troubleshooting_completed": ("Has collaborative troubleshooting with the customer been done?", _YES_NO_UNKNOWN),
    "documentation_provided": ("Has the customer supplied supporting documents?", _YES_NO_UNKNOWN),
    "invoice_received_at": ("When did the invoice reach the customer (ISO 8601 date and time)?", ()),
    "partial_amount": ("What partial amount was agreed?", ()),
    "delivered_at": ("When was the eSIM profile delivered (ISO 8601; empty if never)?", ()),
    "chargeback_outcome": (
        "What did the bank decide on the chargeback?",
        (
            ("withdrawn", "The customer withdrew it"),
            ("merchant_won", "Decided in our favour"),
            ("customer_won", "Decided in the customer's favour (money returned by the bank)"),
            (None, "Still pending"),
        ),
    ),
    "refund_to": (
        "Where does the customer want the refund (airalo 6.1.13)?",
        (
            ("original_payment", "Original payment method"),
            ("airmoney", "Airmoney on the Airalo account"),
            (None, "Not stated"),
        ),
    ),
}


def fact_prompt(name: str) -> tuple[str, tuple[tuple[Any, str], ...]]:
    """(question, choices) for establishing a fact; choices empty means free input."""
    if name in FACT_PROMPTS:
        return FACT_PROMPTS[name]
    if name not in _SPEC:
        raise InputError(f"unknown fact {name!r}")
    return (name.replace("_", " ").capitalize() + "?", ())
