"""app.sla_clocks and app.clocks: states, the governing clock, countdowns, extensions, pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from app.business_calendar import calendar_from_config
from app.clocks import clock_state, format_countdown, governing_clock, ticket_sla_state
from app.config import CalendarConfig
from app.errors import InputError
from app.sla_clocks import (
    CLOCK_SPECS,
    clock_due,
    paused_business_days,
    paused_intervals,
    refund_window_closes,
    resume_due,
    validate_extension,
)
from models.enums import Clock, ClockState

TLL = ZoneInfo("Europe/Tallinn")
CAL = calendar_from_config(CalendarConfig(country="EE", timezone="Europe/Tallinn"))
T0 = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)  # Monday
DUE = T0 + timedelta(days=4)


@pytest.mark.parametrize(
    ("now", "stopped", "share", "expected"),
    [
        (T0 + timedelta(days=1), None, 0.25, ClockState.ON_TRACK),
        (T0 + timedelta(days=2, hours=23), None, 0.25, ClockState.ON_TRACK),  # 25 h of 96 left
        (T0 + timedelta(days=3), None, 0.25, ClockState.ON_TRACK),  # exactly 25% left: not yet "less than"
        (T0 + timedelta(days=3, hours=1), None, 0.25, ClockState.AT_RISK),
        (T0 + timedelta(days=2), None, 0.6, ClockState.AT_RISK),  # configurable share
        (DUE, None, 0.25, ClockState.AT_RISK),  # the due instant itself is still in time
        (DUE + timedelta(microseconds=1), None, 0.25, ClockState.BREACHED),
        (DUE + timedelta(days=9), DUE, 0.25, ClockState.MET),
        (DUE + timedelta(days=9), DUE + timedelta(seconds=1), 0.25, ClockState.MISSED),
        (T0, T0 + timedelta(hours=1), 0.25, ClockState.MET),
    ],
)
def test_clock_state(now, stopped, share, expected):
    assert clock_state(T0, DUE, now, stopped, share) is expected


def ticket(**kw):
    base = dict(
        kind="complaint",
        status="submitted",
        received_at=T0,
        ack_due_at=DUE,
        acknowledged_at=None,
        resolution_due_at=None,
        resolution_communicated_at=None,
        final_response_due_at=None,
        final_response_at=None,
        review_due_at=None,
        decided_at=None,
        extensions=0,
        paused_since=None,
        due_at=DUE,
        due_clock="acknowledgment",
        closed_at=None,
    )
    base.update(kw)
    return SimpleNamespace(**base)


def test_governing_clock_by_kind_and_progress():
    ack = T0 + timedelta(hours=5)
    res_due = T0 + timedelta(days=15)
    assert governing_clock(ticket()) == (Clock.ACKNOWLEDGMENT, T0, DUE, None)
    t = ticket(status="investigation", acknowledged_at=ack, resolution_due_at=res_due)
    assert governing_clock(t) == (Clock.RESOLUTION, ack, res_due, None)
    done = T0 + timedelta(days=3)
    t.resolution_communicated_at = done
    assert governing_clock(t) == (Clock.RESOLUTION, ack, res_due, done)
    assert ticket_sla_state(t, T0 + timedelta(days=30)) is ClockState.MET
    esc = ticket(kind="escalation", final_response_due_at=DUE)
    assert governing_clock(esc)[0] is Clock.FINAL_RESPONSE
    rfd = ticket(kind="refund", review_due_at=DUE)  # ack_due_at set, not acknowledged: the 24-hour ack first
    assert governing_clock(rfd) == (Clock.REFUND_ACK, T0, DUE, None)
    rfd.acknowledged_at = T0 + timedelta(hours=1)
    assert governing_clock(rfd) == (Clock.REFUND_REVIEW, T0, DUE, None)
    decided = T0 + timedelta(days=1)
    rfd2 = ticket(kind="refund", decided_at=decided, due_at=DUE, due_clock="refund_initiation")
    assert governing_clock(rfd2) == (Clock.REFUND_INITIATION, decided, DUE, None)
    assert governing_clock(ticket(kind="refund", decided_at=decided, due_clock=None))[0] is None
    assert governing_clock(ticket(kind="inquiry"))[0] is Clock.ACKNOWLEDGMENT
    assert governing_clock(ticket(status="closed")) == (None, None, None, None)
    assert ticket_sla_state(ticket(status="closed"), T0) is None  # no closing instant: nothing to judge
    # a closed ticket is judged by the last clock it ran: met or missed
    assert ticket_sla_state(ticket(status="closed", closed_at=T0 + timedelta(hours=1)), T0) is ClockState.MET
    assert ticket_sla_state(ticket(status="closed", closed_at=DUE + timedelta(days=1)), T0) is ClockState.MISSED


def test_ticket_state_breached_and_frozen_while_paused():
    t = ticket(kind="refund", review_due_at=DUE)
    assert ticket_sla_state(t, DUE + timedelta(hours=2)) is ClockState.BREACHED
    t.paused_since = T0 + timedelta(days=1)  # waiting on the customer since day 1
    assert ticket_sla_state(t, DUE + timedelta(hours=2)) is ClockState.ON_TRACK


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=1, hours=4, minutes=12, seconds=9, microseconds=500), "1d 04:12:09"),
        (timedelta(hours=3, minutes=12, seconds=9), "03:12:09"),
        (timedelta(0), "00:00:00"),
        (-timedelta(seconds=5), "BREACHED 1m"),
        (-timedelta(minutes=45), "BREACHED 45m"),
        (-timedelta(hours=2, minutes=59), "BREACHED 2h"),
        (-timedelta(days=3, hours=23), "BREACHED 3d"),
    ],
)
def test_format_countdown(delta, text):
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert format_countdown(now + delta, now) == text


def test_extension_validation():
    current = datetime(2027, 1, 11, 21, 59, 59, 999999, tzinfo=UTC)
    validate_extension(current, current + timedelta(days=5), "needs the carrier's logs")
    with pytest.raises(InputError, match="^extension needs a reason$"):
        validate_extension(current, current + timedelta(days=5), "   ")
    with pytest.raises(InputError, match="^new due date must be later than 2027-01-11 21:59"):
        validate_extension(current, current, "reason")
    with pytest.raises(InputError, match="later than"):
        validate_extension(current, current - timedelta(days=1), "reason")


def test_clock_lengths_and_windows():
    assert {c: (s.length, s.unit, s.target) for c, s in CLOCK_SPECS.items()} == {
        Clock.ACKNOWLEDGMENT: (2, "business_days", None),
        Clock.RESOLUTION: (10, "business_days", None),
        Clock.FINAL_RESPONSE: (5, "business_days", None),
        Clock.REFUND_ACK: (24, "business_hours", None),
        Clock.REFUND_REVIEW: (3, "business_days", 2),
        Clock.REFUND_INITIATION: (2, "business_days", 1),
    }
    fri = datetime(2026, 12, 18, 13, 0, tzinfo=UTC)
    assert clock_due(CAL, Clock.ACKNOWLEDGMENT, fri).date() == date(2026, 12, 22)
    # 24 hours counted on business days (esimium 4.2 "Within 24 hours (business days)"): Friday 15:00 -> Monday 15:00
    assert clock_due(CAL, Clock.REFUND_ACK, fri) == datetime(2026, 12, 21, 13, 0, tzinfo=UTC)
    purchase = datetime(2026, 10, 20, 12, tzinfo=TLL)
    closes = refund_window_closes(CAL, "esimium", purchase)
    # calendar dates (issue 17): the window runs through the end of the 7th local day after the purchase date
    assert (closes.date(), closes.hour, closes.minute) == (date(2026, 10, 27), 23, 59)
    assert refund_window_closes(CAL, "airalo", purchase).date() == date(2026, 11, 19)
    with pytest.raises(InputError, match="unknown refund policy"):
        refund_window_closes(CAL, "nobody", purchase)


def ev(action, at):
    return SimpleNamespace(action=action, at=at)


def test_paused_intervals_from_history():
    a, b, c, d = (datetime(2026, 12, 1 + i, 9, tzinfo=UTC) for i in range(4))
    events = [
        ev("resume", a),
        {"action": "pause", "at": b},
        ev("note", b),
        ev("pause", c),
        ev("resume", c + timedelta(hours=1)),
        ev("pause", d),
    ]
    assert paused_intervals(events) == [(b, c + timedelta(hours=1)), (d, None)]
    assert paused_intervals(reversed(events)) == paused_intervals(events)  # order of input does not matter
    assert paused_intervals([]) == []


def test_pause_spanning_a_weekend_moves_the_due_one_business_day():
    # review clock: refund received Wed 2026-12-09, due Mon 12-14 (3 bd)
    received = datetime(2026, 12, 9, 10, tzinfo=TLL)
    due = CAL.due_at(received, 3)
    assert due.date() == date(2026, 12, 14)
    # paused Friday 11:00, customer replies Monday 09:30: Monday was lost
    paused, resumed = datetime(2026, 12, 11, 11, tzinfo=TLL), datetime(2026, 12, 14, 9, 30, tzinfo=TLL)
    moved = resume_due(CAL, due, paused, resumed)
    assert moved.date() == date(2026, 12, 15)
    assert moved == CAL.end_of_local_day(date(2026, 12, 15))
    # Friday to Sunday costs nothing; a Friday-to-Friday pause costs 5 days
    assert resume_due(CAL, due, paused, datetime(2026, 12, 13, 20, tzinfo=TLL)) == due
    assert resume_due(CAL, due, paused, datetime(2026, 12, 18, 9, tzinfo=TLL)).date() == date(2026, 12, 21)
    # across Christmas the holidays are not counted twice
    assert resume_due(
        CAL, due, datetime(2026, 12, 23, 9, tzinfo=TLL), datetime(2026, 12, 28, 9, tzinfo=TLL)
    ).date() == date(2026, 12, 15)
    iv = paused_intervals([ev("pause", paused), ev("resume", resumed)])
    assert paused_business_days(CAL, iv, since=received) == 1
    assert paused_business_days(CAL, iv, since=resumed) == 0  # pauses before the clock started do not count
