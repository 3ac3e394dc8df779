"""Processing milestones on the real business calendar, and the two notices."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.business_calendar import BusinessCalendar
from app.errors import InputError
from app.refunds import decide, milestones, notice_text

TLL = ZoneInfo("Europe/Tallinn")


@pytest.fixture(scope="module")
def cal():
    return BusinessCalendar("EE", None, "Europe/Tallinn")


def test_esimium_milestones_skip_estonian_christmas_and_new_year(cal):
    approved = datetime(2025, 12, 19, 15, 0, tzinfo=TLL)  # a Friday; 24-26 Dec and 1 Jan are holidays
    ms = {m["name"]: m for m in milestones("esimium", approved, cal)}
    assert ms["initiated"]["earliest_date"] == "2025-12-22"
    assert ms["initiated"]["due_date"] == "2025-12-23"
    assert ms["sent_to_processor_done"]["earliest_date"] == "2025-12-30"  # 4th business day
    assert ms["sent_to_processor_done"]["due_date"] == "2026-01-05"  # 7th
    assert ms["in_account"]["earliest_date"] == "2026-01-05"  # 7th
    assert ms["in_account"]["due_date"] == "2026-01-15"  # 15th
    assert all(m["source_section"] == "5.1" for m in ms.values())
    exp = datetime.fromisoformat(ms["initiated"]["expected_at"])
    assert exp.astimezone(TLL).date().isoformat() == "2025-12-23" and exp.astimezone(TLL).hour == 23


def test_esimium_approval_late_evening_utc_counts_in_desk_timezone(cal):
    # 22:30 UTC Thursday is already Friday in Tallinn
    approved = datetime(2025, 3, 13, 22, 30, tzinfo=UTC)
    ms = {m["name"]: m for m in milestones("esimium", approved, cal)}
    assert ms["initiated"]["earliest_date"] == "2025-03-17"
    assert ms["initiated"]["due_date"] == "2025-03-18"


def test_airalo_up_to_thirty_days(cal):
    approved = datetime(2025, 12, 19, 15, 0, tzinfo=TLL)
    (m,) = milestones("airalo", approved, cal)
    assert m["name"] == "in_account" and m["due_date"] == "2026-01-18" and m["source_section"] == "6.1.13"
    (am,) = milestones("airalo", approved, cal, refund_method="airmoney")
    assert am["source_section"] == "6.1.12.1.7" and am["due_date"] is None


def test_naive_approval_refused(cal):
    with pytest.raises(InputError):
        milestones("esimium", datetime(2025, 1, 1), cal)


def test_notices(cal):
    d = decide(
        "esimium",
        {
            "purchase_at": "2025-12-15T10:00:00Z",
            "request_at": "2025-12-17T10:00:00Z",
            "amount_paid": 24.5,
            "currency": "EUR",
            "reason": "non_delivery",
        },
    )
    assert d["outcome"] == "full_refund"
    ms = milestones("esimium", datetime(2025, 12, 19, 15, 0, tzinfo=TLL), cal)
    approved = notice_text("approved", d, ms)
    assert "approved" in approved and "24.50 EUR" in approved and "2025-12-23" in approved and "2026-01-15" in approved
    initiated = notice_text("initiated", d, ms)
    assert "initiated" in initiated and "2026-01-05" in initiated
    with pytest.raises(InputError):
        notice_text("denied", d, ms)
