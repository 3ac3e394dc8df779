"""Worked cases for app.business_calendar (the shared SLA clocks contract)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.business_calendar import BusinessCalendar, calendar_from_config, desk_calendar
from app.config import CalendarConfig, DeskConfig
from app.errors import InputError

TALLINN = ZoneInfo("Europe/Tallinn")
NEW_YORK = ZoneInfo("America/New_York")


def cal_for(country: str, subdiv: str | None = None, tz: str = "Europe/Tallinn", **kw) -> BusinessCalendar:
    return calendar_from_config(CalendarConfig(country=country, subdiv=subdiv, timezone=tz, **kw))


# (country, subdiv, tz, start (local wall time in tz), N, expected due date)
CASES = [
    # the contract's two examples
    ("EE", None, "Europe/Tallinn", datetime(2026, 12, 18, 15, 0), 2, date(2026, 12, 22)),
    ("EE", None, "Europe/Tallinn", datetime(2026, 12, 23, 10, 0), 2, date(2026, 12, 29)),
    # Friday, Saturday and holiday starts
    ("EE", None, "Europe/Tallinn", datetime(2026, 11, 20, 23, 59), 1, date(2026, 11, 23)),
    ("EE", None, "Europe/Tallinn", datetime(2026, 11, 21, 9, 0), 1, date(2026, 11, 23)),
    ("EE", None, "Europe/Tallinn", datetime(2026, 11, 21, 9, 0), 2, date(2026, 11, 24)),
    ("EE", None, "Europe/Tallinn", datetime(2026, 12, 24, 12, 0), 1, date(2026, 12, 28)),  # Christmas Eve start
    ("EE", None, "Europe/Tallinn", datetime(2026, 2, 24, 8, 0), 1, date(2026, 2, 25)),  # Independence Day start
    ("EE", None, "Europe/Tallinn", datetime(2026, 11, 23, 0, 0), 1, date(2026, 11, 24)),  # own date never counts
    ("EE", None, "Europe/Tallinn", datetime(2026, 11, 23, 0, 0), 0, date(2026, 11, 23)),
    # across Christmas / New Year: EE
    ("EE", None, "Europe/Tallinn", datetime(2026, 12, 31, 9, 0), 1, date(2027, 1, 4)),  # 1 Jan 2027 is a Friday holiday
    ("EE", None, "Europe/Tallinn", datetime(2026, 12, 23, 9, 0), 10, date(2027, 1, 11)),
    # US (observed holidays count: Christmas 2027 observed Fri 24th, New Year 2028 observed Fri 31st)
    ("US", None, "America/New_York", datetime(2026, 12, 24, 9, 0), 1, date(2026, 12, 28)),
    ("US", None, "America/New_York", datetime(2026, 12, 31, 9, 0), 1, date(2027, 1, 4)),
    ("US", None, "America/New_York", datetime(2027, 12, 23, 9, 0), 1, date(2027, 12, 27)),
    ("US", None, "America/New_York", datetime(2027, 12, 30, 9, 0), 1, date(2028, 1, 3)),
    (
        "US",
        "CA",
        "America/Los_Angeles",
        datetime(2026, 11, 25, 9, 0),
        1,
        date(2026, 11, 30),
    ),  # Thanksgiving + day after
    # DE-BY: 24 Dec is a working day, 25/26 Dec and Epiphany are not
    ("DE", "BY", "Europe/Berlin", datetime(2026, 12, 22, 9, 0), 2, date(2026, 12, 24)),
    ("DE", "BY", "Europe/Berlin", datetime(2026, 12, 23, 9, 0), 2, date(2026, 12, 28)),
    ("DE", "BY", "Europe/Berlin", datetime(2026, 12, 30, 9, 0), 2, date(2027, 1, 4)),
    ("DE", "BY", "Europe/Berlin", datetime(2027, 1, 4, 9, 0), 2, date(2027, 1, 7)),
    ("DE", None, "Europe/Berlin", datetime(2027, 1, 4, 9, 0), 2, date(2027, 1, 6)),  # no Epiphany outside BY
]


@pytest.mark.parametrize(("country", "subdiv", "tz", "start", "n", "expected"), CASES)
def test_worked_due_dates(country, subdiv, tz, start, n, expected):
    cal = cal_for(country, subdiv, tz)
    aware = start.replace(tzinfo=ZoneInfo(tz))
    assert cal.add_business_days(aware, n) == expected
    due = cal.due_at(aware, n)
    assert due.date() == expected and due.tzinfo is not None
    assert (due.hour, due.minute, due.second, due.microsecond) == (23, 59, 59, 999999)
    # the deadline is met until the next local midnight, not a microsecond later
    next_midnight = datetime.combine(expected + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(tz))
    assert due < next_midnight and next_midnight - due == timedelta(microseconds=1)


# DST weeks: the deadline's UTC offset is the one in force on the due date
DST_CASES = [
    # Europe/Tallinn spring forward Sun 2027-03-28 (+02 -> +03), fall back Sun 2026-10-25 (+03 -> +02)
    ("Europe/Tallinn", "EE", datetime(2027, 3, 24, 10), date(2027, 3, 25), timedelta(hours=2)),
    ("Europe/Tallinn", "EE", datetime(2027, 3, 25, 10), date(2027, 3, 29), timedelta(hours=3)),  # Good Friday 26th
    ("Europe/Tallinn", "EE", datetime(2026, 10, 22, 10), date(2026, 10, 23), timedelta(hours=3)),
    ("Europe/Tallinn", "EE", datetime(2026, 10, 23, 10), date(2026, 10, 26), timedelta(hours=2)),
    # America/New_York spring forward Sun 2027-03-14 (-05 -> -04), fall back Sun 2026-11-01 (-04 -> -05)
    ("America/New_York", "US", datetime(2027, 3, 11, 10), date(2027, 3, 12), timedelta(hours=-5)),
    ("America/New_York", "US", datetime(2027, 3, 12, 10), date(2027, 3, 15), timedelta(hours=-4)),
    ("America/New_York", "US", datetime(2026, 10, 29, 10), date(2026, 10, 30), timedelta(hours=-4)),
    ("America/New_York", "US", datetime(2026, 10, 30, 10), date(2026, 11, 2), timedelta(hours=-5)),
]


@pytest.mark.parametrize(("tz", "country", "start", "expected", "offset"), DST_CASES)
def test_dst_weeks_due_offset(tz, country, start, expected, offset):
    cal = cal_for(country, None, tz)
    due = cal.due_at(start.replace(tzinfo=ZoneInfo(tz)), 1)
    assert due.date() == expected
    assert due.utcoffset() == offset
    assert due.isoformat().endswith(f"23:59:59.999999{_fmt(offset)}")


def _fmt(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def test_days_are_counted_in_desk_timezone_not_utc():
    cal = cal_for("EE")
    # Thursday 22:30 UTC is already Friday 00:30 in Tallinn: day 1 is Monday
    start = datetime(2026, 12, 17, 22, 30, tzinfo=UTC)
    assert cal.local_date(start) == date(2026, 12, 18)
    assert cal.add_business_days(start, 1) == date(2026, 12, 21)
    # a naive datetime is taken as UTC
    assert cal.add_business_days(datetime(2026, 12, 17, 22, 30), 1) == date(2026, 12, 21)
    # the same instant for a New York desk is still Thursday: day 1 is Friday
    assert cal_for("US", None, "America/New_York").add_business_days(start, 1) == date(2026, 12, 18)


def test_is_business_day_and_between():
    cal = cal_for("EE")
    assert cal.is_business_day(date(2026, 12, 23))
    assert not cal.is_business_day(date(2026, 12, 24))
    assert not cal.is_business_day(date(2026, 12, 27))  # Sunday
    fri = datetime(2026, 12, 18, 15, tzinfo=TALLINN)
    assert cal.business_days_between(fri, datetime(2026, 12, 20, 9, tzinfo=TALLINN)) == 0
    assert cal.business_days_between(fri, datetime(2026, 12, 21, 9, tzinfo=TALLINN)) == 1
    assert cal.business_days_between(fri, datetime(2026, 12, 29, 9, tzinfo=TALLINN)) == 5
    assert cal.business_days_between(datetime(2026, 12, 29, 9, tzinfo=TALLINN), fri) == -5


def test_closures_and_workweek():
    base = cal_for("EE")
    closed = base.with_closures([date(2026, 12, 21)])
    fri = datetime(2026, 12, 18, 15, tzinfo=TALLINN)
    assert base.add_business_days(fri, 2) == date(2026, 12, 22)
    assert closed.add_business_days(fri, 2) == date(2026, 12, 23)
    assert base.add_business_days(fri, 2) == date(2026, 12, 22)  # the original is unchanged
    six_day = cal_for("EE", workweek=(0, 1, 2, 3, 4, 5))
    assert six_day.add_business_days(fri, 1) == date(2026, 12, 19)


def test_calendar_and_hour_clocks():
    cal = cal_for("EE")
    # 7 calendar days across the fall-back: same local wall time
    start = datetime(2026, 10, 20, 14, 30, tzinfo=TALLINN)
    later = cal.add_calendar_days(start, 7)
    assert (later.date(), later.hour, later.minute) == (date(2026, 10, 27), 14, 30)
    assert later.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=7, hours=1)
    # 24 hours are 24 real hours, even across the change
    h = cal.add_hours(datetime(2026, 10, 24, 12, tzinfo=TALLINN), 24)
    assert h.astimezone(UTC) - datetime(2026, 10, 24, 9, tzinfo=UTC) == timedelta(hours=24)
    assert (h.day, h.hour) == (25, 11)


def test_far_dates_extend_the_index():
    cal = cal_for("EE")
    assert cal.add_business_days(date(1995, 12, 22), 1) == date(1995, 12, 27)
    assert cal.add_business_days(date(2026, 12, 18), 2500).year in (2036, 2037)
    assert cal.add_business_days(date(2026, 12, 18), 2) == date(2026, 12, 22)
    many = cal.add_business_days_many([date(2026, 12, 18), date(2026, 12, 23)], [2, 2])
    assert many == [date(2026, 12, 22), date(2026, 12, 29)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("XX",), "unknown country 'XX'"),
        (("US", "ZZ"), "unknown subdivision 'ZZ' of US"),
        (("EE", None, "Mars/Base"), "unknown timezone 'Mars/Base'"),
        (("EE", None, "Europe/Tallinn", ()), "working week must name"),
        (("EE", None, "Europe/Tallinn", (0, 9)), "working week must name"),
    ],
)
def test_bad_calendar_is_one_line_input_error(args, message):
    with pytest.raises(InputError) as err:
        BusinessCalendar(*args)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_negative_days_refused():
    with pytest.raises(InputError, match="0 or more"):
        cal_for("EE").add_business_days(date(2026, 1, 5), -1)


def test_desk_calendar_from_config_is_cached_and_configured():
    cfg = DeskConfig(
        calendar=CalendarConfig(country="DE", subdiv="BY", timezone="Europe/Berlin", closures=(date(2027, 1, 5),))
    )
    cal = desk_calendar(cfg)
    assert cal is desk_calendar(cfg)
    assert (cal.country, cal.subdiv, cal.tz.key) == ("DE", "BY", "Europe/Berlin")
    assert not cal.is_business_day(date(2027, 1, 5)) and not cal.is_business_day(date(2027, 1, 6))
    assert cal.add_business_days(date(2027, 1, 4), 1) == date(2027, 1, 7)


def test_end_of_day_on_an_ambiguous_midnight_is_the_later_instant():
    # Sao Paulo left DST at midnight 2018-02-18 (00:00 -> 23:00 on the 17th):
    # 23:59:59 on 2018-02-17 happened twice; the day ends at the second one.
    cal = cal_for("BR", None, "America/Sao_Paulo")
    end = cal.end_of_local_day(date(2018, 2, 17))
    assert end.utcoffset() == timedelta(hours=-3)
    assert end.astimezone(UTC) == datetime(2018, 2, 18, 2, 59, 59, 999999, tzinfo=UTC)
    assert cal.end_of_local_day(date(2018, 2, 20)).utcoffset() == timedelta(hours=-3)
