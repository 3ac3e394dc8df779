"""Decisions and approvals stored on a RefundCase row."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.business_calendar import BusinessCalendar
from app.errors import IllegalTransition, InputError
from app.refunds.records import record_approval, record_decision
from models.refund import RefundCase

F = {
    "purchase_at": "2025-12-15T10:00:00Z",
    "request_at": "2025-12-17T10:00:00Z",
    "amount_paid": 10.999,
    "currency": "EUR",
    "reason": "non_delivery",
}


def test_record_decision_and_approval():
    case = RefundCase(ticket_id=1, policy="esimium")
    d = record_decision(case, F)
    assert case.outcome == "full_refund" and case.max_refund == Decimal("10.99")  # never rounded up
    assert json.loads(case.decision) == d and json.loads(case.facts)["purchase_at"] == "2025-12-15T10:00:00+00:00"
    assert case.refund_method == "original_payment" and case.alternative is None
    cal = BusinessCalendar("EE", None, "Europe/Tallinn")
    ms = record_approval(case, datetime(2025, 12, 19, 15, tzinfo=ZoneInfo("Europe/Tallinn")), cal)
    assert len(ms) == 3
    assert case.initiated_due_at.astimezone(ZoneInfo("Europe/Tallinn")).date().isoformat() == "2025-12-23"
    assert case.expected_in_account_at.astimezone(ZoneInfo("Europe/Tallinn")).date().isoformat() == "2026-01-15"


def test_alternative_recorded_and_denial_not_approvable():
    case = RefundCase(ticket_id=1, policy="esimium")
    record_decision(case, {**F, "alternative": "store_credit"})
    assert (case.outcome, case.alternative, case.max_refund) == ("store_credit", "store_credit", Decimal("0.00"))
    denied = RefundCase(ticket_id=2, policy="esimium")
    record_decision(denied, {**F, "fraud_evidence": True})
    with pytest.raises(IllegalTransition):
        record_approval(denied, datetime(2025, 12, 19, 15, tzinfo=ZoneInfo("Europe/Tallinn")), BusinessCalendar("EE"))


def test_policy_mismatch_refused():
    from app.refunds import decide

    case = RefundCase(ticket_id=1, policy="airalo")
    with pytest.raises(InputError):
        record_decision(case, F, decide("esimium", F))
