"""SLA clocks: lengths, deadlines, pauses, extensions.

Pure functions; no database access. Deadline arithmetic lives in
app.business_calendar; which clock governs a ticket and its state at an
instant (in Python and in SQL) live in app.clocks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from app.business_calendar import BusinessCalendar
from app.errors import InputError
from models.enums import Clock

# -- the contract's table ----------------------------------------------------
ACK_BUSINESS_DAYS = 2  # complaint acknowledgment (complaints policy, step 2)
RESOLUTION_BUSINESS_DAYS = 10  # from acknowledgment, extendable (step 6)
FINAL_RESPONSE_BUSINESS_DAYS = 5  # escalation final response (step 9)
REFUND_ACK_HOURS = 24  # esimium 4.2
REFUND_REVIEW_BUSINESS_DAYS = 3  # esimium 4.2
REFUND_REVIEW_TARGET_BUSINESS_DAYS = 2
REFUND_INITIATION_BUSINESS_DAYS = 2  # esimium 5.1, from approval
REFUND_INITIATION_TARGET_BUSINESS_DAYS = 1
DISPUTED_CHARGE_WINDOW_DAYS = 12  # airalo 6.1.9, from invoice received
NON_DELIVERY_HOURS = 24  # esimium 2.1, from payment


@dataclass(frozen=True)
class ClockSpec:
    clock: Clock
    length: int
    unit: str  # "business_days" | "hours"
    target: int | None = None  # the internal target, when the policy names one


CLOCK_SPECS: dict[Clock, ClockSpec] = {
    Clock.ACKNOWLEDGMENT: ClockSpec(Clock.ACKNOWLEDGMENT, ACK_BUSINESS_DAYS, "business_days"),
    Clock.RESOLUTION: ClockSpec(Clock.RESOLUTION, RESOLUTION_BUSINESS_DAYS, "business_days"),
    Clock.FINAL_RESPONSE: ClockSpec(Clock.FINAL_RESPONSE, FINAL_RESPONSE_BUSINESS_DAYS, "business_days"),
    Clock.REFUND_ACK: ClockSpec(Clock.REFUND_ACK, REFUND_ACK_HOURS, "business_hours"),
    Clock.REFUND_REVIEW: ClockSpec(
        Clock.REFUND_REVIEW, REFUND_REVIEW_BUSINESS_DAYS, "business_days", REFUND_REVIEW_TARGET_BUSINESS_DAYS
    ),
    Clock.REFUND_INITIATION: ClockSpec(
        Clock.REFUND_INITIATION,
        REFUND_INITIATION_BUSINESS_DAYS,
        "business_days",
        REFUND_INITIATION_TARGET_BUSINESS_DAYS,
    ),
}


def refund_ack_due(cal: BusinessCalendar, received: datetime) -> datetime:
    """esimium 4.2 "acknowledge receipt ... within 24 hours", read with its
    contact note "Within 24 hours (business days)": 24 hours counted on
    business days only. Received on a business day at 15:00 -> the same time
    on the next business day; received on a weekend or holiday -> the end of
    the first business day after it (the hours start at its midnight)."""
    local = cal._aware(received).astimezone(cal.tz)
    day = local.date()
    if not cal.is_business_day(day):
        return cal.end_of_local_day(cal.add_business_days(day, 1))
    nxt = cal.add_business_days(day, 1)
    wall = datetime.combine(nxt, local.time().replace(tzinfo=None))
    return wall.replace(tzinfo=cal.tz).astimezone(UTC).astimezone(cal.tz)


def clock_due(cal: BusinessCalendar, clock: Clock, start: datetime) -> datetime:
    """Deadline of `clock` started at `start` (aware, desk tz)."""
    spec = CLOCK_SPECS[Clock(clock)]
    if spec.unit == "business_hours":
        return refund_ack_due(cal, start)
    if spec.unit == "hours":
        return cal.add_hours(start, spec.length)
    return cal.due_at(start, spec.length)


def refund_in_account_due(cal: BusinessCalendar, policy: str, approved_at: datetime) -> datetime:
    """When the money should be in the customer's account: the policy file's
    "in_account" milestone (app.refunds.milestones.in_account_due)."""
    from app.refunds.milestones import in_account_due  # (the refund engine: not imported by the console's start)

    return in_account_due(cal, policy, approved_at)


def refund_window_closes(cal: BusinessCalendar, policy: str, purchased_at: datetime) -> datetime:
    """End of the refund request window: calendar dates in the desk's time
    zone, as worded (bought 1 March: 7 days run through the end of 8 March,
    30 days through the end of 31 March; app.refunds.rules decides the same).
    The days are the policy file's "refund" window (app.refunds.policies)."""
    from app.refunds.policies import refund_window

    days = refund_window(policy, purchased_at).days  # unknown policy -> InputError
    return cal.end_of_local_day(cal.local_date(purchased_at) + timedelta(days=days))


def _utc(dt: datetime) -> datetime:
    return dt if dt.utcoffset() is not None else dt.replace(tzinfo=UTC)


# -- extension -----------------------------------------------------------------
def validate_extension(current_due: datetime | None, new_due: datetime, reason: str | None) -> None:
    """Refuse an extension without a reason or with a due not later than now's."""
    if reason is None or not str(reason).strip():
        raise InputError("extension needs a reason")
    if not isinstance(new_due, datetime):
        raise InputError(f"new due date must be a date and time, got {new_due!r}")
    if current_due is not None and _utc(new_due) <= _utc(current_due):
        raise InputError(f"new due date must be later than {current_due.isoformat(sep=' ', timespec='minutes')}")


# -- waiting on the customer -------------------------------------------------
class PauseEvent(Protocol):
    """A history event as paused_intervals reads it (a model, a row, a namespace)."""

    @property
    def action(self) -> str: ...

    @property
    def at(self) -> datetime: ...


def _action_at(event: PauseEvent | dict[str, Any]) -> tuple[str, datetime]:
    if isinstance(event, dict):
        return event["action"], event["at"]
    return event.action, event.at


def paused_intervals(events: Iterable[PauseEvent | dict[str, Any]]) -> list[tuple[datetime, datetime | None]]:
    """Pause intervals from history events (`.action` "pause"/"resume", `.at`).

    Events are taken in time order; a second "pause" while paused and a
    "resume" while running are ignored; the last interval's end is None while
    the ticket is still paused.
    """
    marks: list[tuple[datetime, str]] = []
    for e in events:
        action, at = _action_at(e)
        if action in ("pause", "resume"):
            marks.append((_utc(at), action))
    marks.sort(key=lambda m: m[0])
    out: list[tuple[datetime, datetime | None]] = []
    opened: datetime | None = None
    for at, action in marks:
        if action == "pause" and opened is None:
            opened = at
        elif action == "resume" and opened is not None:
            out.append((opened, at))
            opened = None
    if opened is not None:
        out.append((opened, None))
    return out


def paused_business_days(
    cal: BusinessCalendar, intervals: Iterable[tuple[datetime, datetime | None]], since: datetime | None = None
) -> int:
    """Business days paused over the closed intervals that began at or after
    `since` (the clock's start), by the rule of resume_due."""
    total = 0
    for start, end in intervals:
        if end is None or (since is not None and start < _utc(since)):
            continue
        total += max(0, cal.business_days_between(start, end))
    return total


def resume_due(cal: BusinessCalendar, original_due: datetime, paused_from: datetime, resumed_at: datetime) -> datetime:
    """The deadline after a pause, moved later by whole business days.

    Rule: the pause costs k = business_days_between(paused_from, resumed_at)
    business days, i.e. the business days whose local date is strictly after
    the day the pause began, up to and including the day it ended. The new
    deadline is the end of the k-th business day after the old due date's local
    date. So a pause begun and ended on the same day, or from Friday to Sunday,
    moves nothing; Friday to Monday moves the deadline one business day.
    """
    k = max(0, cal.business_days_between(paused_from, resumed_at))
    if k == 0:
        return original_due.astimezone(cal.tz)
    return cal.end_of_local_day(cal.add_business_days(original_due, k))
