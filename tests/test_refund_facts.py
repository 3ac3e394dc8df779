"""Facts validation: every bad field named in one line; times without offset are UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.errors import InputError
from app.refunds import Facts, parse_facts

GOOD = {
    "purchase_at": "2025-03-10T09:00:00",
    "request_at": "2025-03-12T11:00:00+02:00",
    "amount_paid": 12,
    "currency": "eur",
    "reason": "non_delivery",
}


def test_defaults_and_utc():
    f = parse_facts(GOOD)
    assert f.purchase_at == datetime(2025, 3, 10, 9, tzinfo=UTC)
    assert f.request_at == datetime(2025, 3, 12, 9, tzinfo=UTC) and f.request_at.tzinfo is UTC
    assert (f.currency, f.payment_method, f.customer_type, f.quantity) == ("EUR", "card", "end_user", 1)
    assert f.delivered_at is None and f.installed is False and f.provider_fault_confirmed is None
    assert parse_facts(f) is f
    assert parse_facts(f.to_dict()) == f


def test_z_suffix_and_other_offsets():
    f = parse_facts({**GOOD, "purchase_at": "2025-03-10T09:00:00Z", "delivered_at": "2025-03-10T10:00:00-05:00"})
    assert f.delivered_at == datetime(2025, 3, 10, 15, tzinfo=UTC)
    assert f.delivered_at.astimezone(timezone(timedelta(hours=-5))).hour == 10


def test_every_bad_field_named_in_one_line():
    bad = {
        "purchase_at": "yesterday",
        "request_at": "2025-13-01T00:00:00",
        "amount_paid": -1,
        "currency": "euro",
        "reason": "x",
        "quantity": 0,
        "installed": "yes",
        "data_used_mb": "5",
        "provider_fault_confirmed": 1,
        "payment_method": "cash",
        "customer_type": None,
        "delivered_at": 12,
        "alternative": "voucher",
        "colour": "red",
    }
    with pytest.raises(InputError) as exc:
        parse_facts(bad)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("facts: ")
    for part in [
        "purchase_at: not an ISO 8601 datetime",
        "request_at: not an ISO 8601 datetime",
        "amount_paid: must be a number >= 0",
        "currency: not an ISO 4217 currency code",
        "reason: unknown value 'x'",
        "quantity: must be an integer >= 1",
        "installed: must be true or false",
        "data_used_mb: must be a number >= 0",
        "provider_fault_confirmed: must be true or false or null",
        "payment_method: unknown value 'cash'",
        "customer_type: must not be null",
        "delivered_at: not an ISO 8601 datetime",
        "alternative: unknown value 'voucher'",
        "colour: unknown field",
    ]:
        assert part in msg, part


def test_required_fields_named():
    with pytest.raises(InputError) as exc:
        parse_facts({})
    for name in ("purchase_at", "request_at", "amount_paid", "currency", "reason"):
        assert f"{name}: required" in str(exc.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "12", None])
def test_amount_must_be_a_finite_number(value):
    with pytest.raises(InputError, match="amount_paid: must"):
        parse_facts({**GOOD, "amount_paid": value})


@pytest.mark.parametrize("value", ["2025-03-10", "10/03/2025 09:00", "", "2025-03-10T25:00:00"])
def test_datetime_needs_a_time_part(value):
    with pytest.raises(InputError, match="purchase_at: not an ISO 8601 datetime"):
        parse_facts({**GOOD, "purchase_at": value})


def test_cross_field_checks():
    with pytest.raises(InputError, match="request_at: before purchase_at"):
        parse_facts({**GOOD, "request_at": "2025-03-09T00:00:00Z"})
    with pytest.raises(InputError, match="partial_amount: more than amount_paid"):
        parse_facts({**GOOD, "partial_amount": 13})


def test_not_an_object():
    with pytest.raises(InputError, match="facts: must be a JSON object"):
        parse_facts([1, 2])
    assert isinstance(parse_facts({**GOOD, "quantity": 3}), Facts)
