"""Property tests: due dates are business days, after the start, monotonic in N,
and agree with a plain day-by-day count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.business_calendar import calendar_from_config
from app.config import CalendarConfig

CALENDARS = [
    calendar_from_config(CalendarConfig(country="EE", timezone="Europe/Tallinn")),
    calendar_from_config(CalendarConfig(country="US", subdiv="CA", timezone="America/Los_Angeles")),
    calendar_from_config(
        CalendarConfig(
            country="DE", subdiv="BY", timezone="Europe/Berlin", closures=(date(2026, 12, 28), date(2030, 6, 3))
        )
    ),
    calendar_from_config(CalendarConfig(country="AE", timezone="Asia/Dubai", workweek=(0, 1, 2, 3, 4, 5))),
    calendar_from_config(CalendarConfig(country="IN", timezone="Asia/Kolkata")),
]

calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC))
days = st.integers(min_value=1, max_value=400)


def slow_add(cal, start, n: int) -> date:
    d = cal.local_date(start)
    while n:
        d += timedelta(days=1)
        if d.weekday() in cal.workweek and d not in cal.closures and not _is_holiday(cal, d):
            n -= 1
    return d


def _is_holiday(cal, d: date) -> bool:
    import holidays

    return d in holidays.country_holidays(cal.country, subdiv=cal.subdiv, years=range(d.year - 1, d.year + 2))


@settings(max_examples=300, deadline=None)
@given(cal=calendars, start=instants, n=days)
def test_due_is_a_business_day_strictly_after_the_start(cal, start, n):
    due = cal.add_business_days(start, n)
    assert cal.is_business_day(due)
    assert due > cal.local_date(start)
    assert cal.business_days_between(start, due) == n
    at = cal.due_at(start, n)
    assert at.date() == due and at > start
    assert cal.local_date(at) == due


@settings(max_examples=300, deadline=None)
@given(cal=calendars, start=instants, n=st.integers(min_value=0, max_value=400))
def test_monotonic_in_n(cal, start, n):
    assert cal.add_business_days(start, n) < cal.add_business_days(start, n + 1)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=60, deadline=None)
@given(cal=calendars, start=instants, n=st.integers(min_value=1, max_value=30))
def test_agrees_with_a_day_by_day_count(cal, start, n):
    assert cal.add_business_days(start, n) == slow_add(cal, start, n)
