"""The fields of an order (contracts/orders.md) and their validation.

One row in, one `OrderRow` (normalised values) or the list of every bad
field out. The same rules serve a CSV cell (always text; an empty cell is
"unknown"), a JSONL value and a lookup command's output.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.refunds.facts import CUSTOMER_TYPES, PAYMENT_METHODS

POLICIES: tuple[str, ...] = ("esimium", "airalo")
FIELDS: tuple[str, ...] = (
    "order_number", "policy", "customer_email", "customer_name", "purchase_at", "amount_paid", "currency",
    "payment_method", "customer_type", "quantity", "product", "delivered_at", "installed", "activated",
    "data_used_mb", "validity_ends_at", "invoice_received_at", "reseller",
)
REQUIRED: tuple[str, ...] = ("order_number", "policy", "customer_email", "purchase_at", "amount_paid", "currency")
# the fields that live on the order row (the customer's name lives on the customer)
STORED: tuple[str, ...] = tuple(f for f in FIELDS if f != "customer_name")

_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
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
        return self.values["order_number"]

    @property
    def email_key(self) -> str:
        return self.values["customer_email"].lower()

    def content_hash(self) -> str:
        """Of the stored fields: equal hashes mean an import changes nothing."""
        return hashlib.sha256(json.dumps([canonical(self.values[f]) for f in STORED]).encode()).hexdigest()


def canonical(v: Any) -> Any:
    """A JSON-ready, comparable form of a stored value (datetimes as UTC ISO text)."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


class _Bad(Exception):
    pass


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


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
    return n


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
    if any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in text):
        raise _Bad("contains control characters")
    if len(text) > _TEXT_LIMITS[name]:
        raise _Bad(f"longer than {_TEXT_LIMITS[name]} characters")
    return text


def _check(name: str, v: Any) -> Any:
    if name == "order_number":
        if not isinstance(v, str) or not _NUMBER.match(v.strip()):
            raise _Bad(f"not an order number (letters, digits, '-', up to 32): {_show(v)}")
        return v.strip().upper()
    if name == "policy":
        return _enum(v, POLICIES)
    if name == "customer_email":
        if not isinstance(v, str) or len(v.strip()) > 320 or not _EMAIL.match(v.strip()):
            raise _Bad(f"not an email address: {_show(v)}")
        return v.strip()
    if name in ("purchase_at", "delivered_at", "validity_ends_at", "invoice_received_at"):
        return _datetime(v)
    if name in ("amount_paid", "data_used_mb"):
        return float(_number(v))
    if name == "quantity":
        return _number(v, integer=True, minimum=1)
    if name == "currency":
        if not isinstance(v, str) or not _CURRENCY.match(v.strip().upper()):
            raise _Bad(f"not an ISO 4217 currency code: {_show(v)}")
        return v.strip().upper()
    if name == "payment_method":
        return _enum(v, PAYMENT_METHODS)
    if name == "customer_type":
        return _enum(v, CUSTOMER_TYPES)
    if name in ("installed", "activated"):
        return _bool(v)
    return _text(v, name)  # customer_name, product, reseller


def validate_row(raw: Any) -> tuple[OrderRow | None, list[FieldError]]:
    """Check one row (a dict of field -> value, CSV text or JSON values).
    Returns the normalised row, or None and every bad field."""
    if not isinstance(raw, dict):
        return None, [FieldError(None, "not a JSON object")]
    errors: list[FieldError] = [FieldError(str(k), "unknown field") for k in raw if k not in FIELDS]
    values: dict[str, Any] = {}
    for name in FIELDS:
        v = raw.get(name)
        if _blank(v):
            if name in REQUIRED:
                errors.append(FieldError(name, "required"))
            values[name] = None
            continue
        try:
            values[name] = _check(name, v)
        except _Bad as exc:
            errors.append(FieldError(name, str(exc)))
    for name in ("delivered_at", "invoice_received_at"):
        if values.get(name) is not None and values.get("purchase_at") is not None and values[name] < values["purchase_at"]:
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
