"""The fields of an order (the shared orders contract) and their validation.

One row in, one `OrderRow` (normalised values) or the list of every bad
field out. The same rules serve a CSV cell (always text; an empty cell is
"unknown"), a JSONL value and a lookup command's output.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.refunds.facts import CUSTOMER_TYPES, PAYMENT_METHODS
from app.refunds.policies import policy_choices

FIELDS: tuple[str, ...] = (
    "order_number",
    "policy",
    "customer_email",
    "customer_name",
    "purchase_at",
    "amount_paid",
    "currency",
    "payment_method",
    "customer_type",
    "quantity",
    "product",
    "delivered_at",
    "installed",
    "activated",
    "data_used_mb",
    "validity_ends_at",
    "invoice_received_at",
    "reseller",
)
REQUIRED: tuple[str, ...] = ("order_number", "policy", "customer_email", "purchase_at", "amount_paid", "currency")
# the fields that live on the order row (the customer's name lives on the customer)
STORED: tuple[str, ...] = tuple(f for f in FIELDS if f != "customer_name")

_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TEXT_LIMITS = {"customer_name": 300, "product": 120, "reseller": 200}


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str | None
    reason: str


@dataclass(slots=True)
class OrderRow:
    """A valid row: contract field name -> normalised value (None: unknown)."""

    values: dict[str, Any]

    @property
    def number(self) -> str:
        return str(self.values["order_number"])

    @property
    def email_key(self) -> str:
        return str(self.values["customer_email"]).lower()

    def content_hash(self) -> str:
        """Of the stored fields: equal hashes mean an import changes nothing
        (values are normalised: datetimes in UTC, numbers as float/int)."""
        v = self.values
        return hashlib.blake2b(repr([v[f] for f in STORED]).encode(), digest_size=16).hexdigest()


def canonical(v: Any) -> Any:
    """A JSON-ready, comparable form of a stored value (datetimes as UTC ISO text)."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


class _Bad(Exception):
    pass


def _show(v: Any) -> str:
    return repr(v if not isinstance(v, str) else v[:60])


def _datetime(v: Any) -> datetime:
    if not isinstance(v, str) or not _DATETIME.match(v.strip()):
        raise _Bad(f"not a date-time: {_show(v)}")
    text = v.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(f"not a date-time: {_show(v)}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # the contract: no offset means UTC
    return dt.astimezone(UTC)


def _number(v: Any, *, integer: bool = False, minimum: float = 0) -> float | int:
    if isinstance(v, str):
        text = v.strip()
        try:
            n: Any = int(text) if integer else float(text)
        except ValueError:
            raise _Bad(f"not {'an integer' if integer else 'a number'}: {_show(v)}") from None
    elif isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(f"not {'an integer' if integer else 'a number'}: {_show(v)}")
    else:
        n = v
    if integer and not isinstance(n, int):
        if not float(n).is_integer():
            raise _Bad(f"not an integer: {_show(v)}")
        n = int(n)
    if not math.isfinite(n) or n < minimum:
        raise _Bad(f"must be {'an integer' if integer else 'a number'} >= {minimum:g}: {_show(v)}")
    number: float | int = n
    return number


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    raise _Bad(f"not true or false: {_show(v)}")


def _enum(v: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v.strip() not in allowed:
        raise _Bad(f"not one of {', '.join(allowed)}: {_show(v)}")
    return v.strip()


def _text(v: Any, name: str) -> str:
    if not isinstance(v, (str, int)) or isinstance(v, bool):
        raise _Bad(f"not text: {_show(v)}")
    text = str(v).strip()
    if _CONTROL.search(text):
        raise _Bad("contains control characters")
    if len(text) > _TEXT_LIMITS[name]:
        raise _Bad(f"longer than {_TEXT_LIMITS[name]} characters")
    return text


def _order_number(v: Any) -> str:
    if not isinstance(v, str) or not _NUMBER.match(v.strip()):
        raise _Bad(f"not an order number (letters, digits, '-', up to 32): {_show(v)}")
    return v.strip().upper()


def _email(v: Any) -> str:
    if not isinstance(v, str) or len(v.strip()) > 320 or not _EMAIL.match(v.strip()):
        raise _Bad(f"not an email address: {_show(v)}")
    return v.strip()


def _currency(v: Any) -> str:
    if not isinstance(v, str) or not _CURRENCY.match(v.strip().upper()):
        raise _Bad(f"not an ISO 4217 currency code: {_show(v)}")
    return v.strip().upper()


# field -> its check (one dict lookup a field: this runs 18 times a row on the import's hot path)
_CHECKS: dict[str, Any] = {
    "order_number": _order_number,
    "policy": lambda v: _enum(v, policy_choices()),  # the policy files (app/data/policies)
    "customer_email": _email,
    "customer_name": lambda v: _text(v, "customer_name"),
    "purchase_at": _datetime,
    "amount_paid": lambda v: float(_number(v)),
    "currency": _currency,
    "payment_method": lambda v: _enum(v, PAYMENT_METHODS),
    "customer_type": lambda v: _enum(v, CUSTOMER_TYPES),
    "quantity": lambda v: _number(v, integer=True, minimum=1),
    "product": lambda v: _text(v, "product"),
    "delivered_at": _datetime,
    "installed": _bool,
    "activated": _bool,
    "data_used_mb": lambda v: float(_number(v)),
    "validity_ends_at": _datetime,
    "invoice_received_at": _datetime,
    "reseller": lambda v: _text(v, "reseller"),
}
_REQUIRED = frozenset(REQUIRED)


def validate_row(raw: Any) -> tuple[OrderRow | None, list[FieldError]]:
    """Check one row (a dict of field -> value, CSV text or JSON values).
    Returns the normalised row, or None and every bad field."""
    if not isinstance(raw, dict):
        return None, [FieldError(None, "not a JSON object")]
    errors: list[FieldError] = [FieldError(str(k), "unknown field") for k in raw if k not in FIELDS]
    values: dict[str, Any] = {}
    get = raw.get
    for name, check in _CHECKS.items():
        v = get(name)
        if v is None or v == "" or (isinstance(v, str) and not v.strip()):
            if name in _REQUIRED:
                errors.append(FieldError(name, "required"))
            values[name] = None
            continue
        try:
            values[name] = check(v)
        except _Bad as exc:
            errors.append(FieldError(name, str(exc)))
    for name in ("delivered_at", "invoice_received_at"):
        if (
            values.get(name) is not None
            and values.get("purchase_at") is not None
            and values[name] < values["purchase_at"]
        ):
            errors.append(FieldError(name, "before purchase_at"))
    if errors:
        return None, errors
    values["payment_method"] = values["payment_method"] or "card"
    values["customer_type"] = values["customer_type"] or "end_user"
    values["quantity"] = values["quantity"] or 1
    if values["installed"] is None:
        values["installed"] = False
    if values["activated"] is None:
        values["activated"] = False
    if values["data_used_mb"] is None:
        values["data_used_mb"] = 0.0
    return OrderRow(values), []
