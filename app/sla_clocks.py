"""SLA clocks: lengths, states, the clock that governs a ticket, pauses, extensions.

Pure functions over ticket-like objects (anything with the attributes of
models.Ticket); no database access. Deadline arithmetic lives in
app.business_calendar; the table of clocks is contracts/sla-clocks.md.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.business_calendar import BusinessCalendar
from app.errors import InputError
from app.refunds.milestones import in_account_due
from app.refunds.policies import refund_window
from models.enums import Clock, ClockState, TicketKind, TicketStatus

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
DEFAULT_AT_RISK_SHARE = 0.25


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
    Clock.REFUND_REVIEW: ClockSpec(Clock.REFUND_REVIEW, REFUND_REVIEW_BUSINESS_DAYS, "business_days", REFUND_REVIEW_TARGET_BUSINESS_DAYS),
    Clock.REFUND_INITIATION: ClockSpec(
        Clock.REFUND_INITIATION, REFUND_INITIATION_BUSINESS_DAYS, "business_days", REFUND_INITIATION_TARGET_BUSINESS_DAYS
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
    return in_account_due(cal, policy, approved_at)


def refund_window_closes(cal: BusinessCalendar, policy: str, purchased_at: datetime) -> datetime:
    """End of the refund request window: calendar dates in the desk's time
    zone, as worded (bought 1 March: 7 days run through the end of 8 March,
    30 days through the end of 31 March; app.refunds.rules decides the same).
    The days are the policy file's "refund" window (app.refunds.policies)."""
    days = refund_window(policy, purchased_at).days  # unknown policy -> InputError
    return cal.end_of_local_day(cal.local_date(purchased_at) + timedelta(days=days))


# -- states --------------------------------------------------------------------
def _utc(dt: datetime) -> datetime:
    return dt if dt.utcoffset() is not None else dt.replace(tzinfo=UTC)


def clock_state(
    start: datetime,
    due: datetime,
    now: datetime,
    stopped_at: datetime | None,
    at_risk_share: float = DEFAULT_AT_RISK_SHARE,
) -> ClockState:
    """met/missed for a stopped clock; else breached, at_risk (less than
    `at_risk_share` of the clock's length left) or on_track."""
    start, due, now = _utc(start), _utc(due), _utc(now)
    if stopped_at is not None:
        return ClockState.MET if _utc(stopped_at) <= due else ClockState.MISSED
    if now > due:
        return ClockState.BREACHED
    if due - now < (due - start) * at_risk_share:
        return ClockState.AT_RISK
    return ClockState.ON_TRACK


_OPEN_KINDS = {k.value for k in TicketKind}
# after the decision a refund's clock lives in due_at/due_clock (app/refund_cases.py sets it)
_DECIDED_REFUND_CLOCKS = (Clock.REFUND_DECISION.value, Clock.REFUND_INITIATION.value, Clock.REFUND_IN_ACCOUNT.value)


def governing_clock(ticket) -> tuple[Clock | None, datetime | None, datetime | None, datetime | None]:
    """(clock, start, due, stopped_at) of the clock that governs `ticket` now.

    complaint: acknowledgment until acknowledged_at, then resolution (stopped
    by resolution_communicated_at); escalation: final response; refund: the
    24-hour acknowledgment (when started) until acknowledged_at, then review
    until decided_at, then the clock due_clock names (decision communicated,
    initiation, in account; its due is ticket.due_at); inquiry: acknowledgment. A closed
    ticket has none. `due` may be None when the workflow has not stored it.
    """
    if getattr(ticket, "status", None) == TicketStatus.CLOSED.value:
        return (None, None, None, None)
    kind = ticket.kind
    if kind == TicketKind.COMPLAINT.value:
        if ticket.acknowledged_at is None:
            return (Clock.ACKNOWLEDGMENT, ticket.received_at, ticket.ack_due_at, None)
        return (Clock.RESOLUTION, ticket.acknowledged_at, ticket.resolution_due_at, ticket.resolution_communicated_at)
    if kind == TicketKind.ESCALATION.value:
        return (Clock.FINAL_RESPONSE, ticket.received_at, ticket.final_response_due_at, ticket.final_response_at)
    if kind == TicketKind.REFUND.value:
        if ticket.decided_at is None:
            # the 24-hour acknowledgment first (esimium 4.2), then the review
            if getattr(ticket, "ack_due_at", None) is not None and getattr(ticket, "acknowledged_at", None) is None:
                return (Clock.REFUND_ACK, ticket.received_at, ticket.ack_due_at, None)
            return (Clock.REFUND_REVIEW, ticket.received_at, ticket.review_due_at, None)
        clock = getattr(ticket, "due_clock", None)
        if clock in _DECIDED_REFUND_CLOCKS:
            start = ticket.received_at if clock == Clock.REFUND_DECISION.value else ticket.decided_at
            return (Clock(clock), start, ticket.due_at, None)
        return (None, None, None, None)
    if kind == TicketKind.INQUIRY.value:
        return (Clock.ACKNOWLEDGMENT, ticket.received_at, ticket.ack_due_at, ticket.acknowledged_at)
    return (None, None, None, None)


def last_clock(ticket) -> tuple[Clock | None, datetime | None, datetime | None, datetime | None]:
    """(clock, start, due, stopped_at) of the last clock a closed ticket ran:
    the clock its SLA figures are judged by (met or missed)."""
    kind = ticket.kind
    closed = getattr(ticket, "closed_at", None)
    if kind == TicketKind.COMPLAINT.value:
        if ticket.acknowledged_at is None:
            return (Clock.ACKNOWLEDGMENT, ticket.received_at, ticket.ack_due_at, closed)
        return (Clock.RESOLUTION, ticket.acknowledged_at, ticket.resolution_due_at, ticket.resolution_communicated_at or closed)
    if kind == TicketKind.ESCALATION.value:
        return (Clock.FINAL_RESPONSE, ticket.received_at, ticket.final_response_due_at, ticket.final_response_at or closed)
    if kind == TicketKind.REFUND.value:
        return (Clock.REFUND_REVIEW, ticket.received_at, ticket.review_due_at, ticket.decided_at or closed)
    if kind == TicketKind.INQUIRY.value:
        return (Clock.ACKNOWLEDGMENT, ticket.received_at, ticket.ack_due_at, ticket.acknowledged_at or closed)
    return (None, None, None, None)


def ticket_sla_state(ticket, now: datetime, at_risk_share: float = DEFAULT_AT_RISK_SHARE) -> ClockState | None:
    """State of the governing clock, or None when no clock (or no deadline).

    While the ticket waits on the customer (paused_since set) the clock is
    frozen: it is judged at the moment the pause began.
    """
    clock, start, due, stopped = governing_clock(ticket)
    if clock is None and getattr(ticket, "status", None) == TicketStatus.CLOSED.value:
        clock, start, due, stopped = last_clock(ticket)
        if stopped is None:  # closed, but no instant to judge the clock by
            return None
    if clock is None or start is None or due is None:
        return None
    paused = getattr(ticket, "paused_since", None)
    if stopped is None and paused is not None and _utc(paused) < _utc(now):
        now = paused
    return clock_state(start, due, now, stopped, at_risk_share)


def format_countdown(due: datetime, now: datetime) -> str:
    """Time left as "1d 04:12:09" / "03:12:09"; overdue as "BREACHED 45m",
    "BREACHED 2h" or "BREACHED 3d" (the coarsest whole unit)."""
    left = _utc(due) - _utc(now)
    if left >= timedelta(0):
        secs = int(left.total_seconds())
        days, rest = divmod(secs, 86400)
        h, rest = divmod(rest, 3600)
        m, s = divmod(rest, 60)
        clock = f"{h:02d}:{m:02d}:{s:02d}"
        return f"{days}d {clock}" if days else clock
    over = int((-left).total_seconds())
    if over >= 86400:
        return f"BREACHED {over // 86400}d"
    if over >= 3600:
        return f"BREACHED {over // 3600}h"
    return f"BREACHED {max(1, over // 60)}m"


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
def _field(event, name: str):
    return event[name] if isinstance(event, dict) else getattr(event, name)


def paused_intervals(events: Iterable) -> list[tuple[datetime, datetime | None]]:
    """Pause intervals from history events (`.action` "pause"/"resume", `.at`).

    Events are taken in time order; a second "pause" while paused and a
    "resume" while running are ignored; the last interval's end is None while
    the ticket is still paused.
    """
    marks = []
    for e in events:
        action = _field(e, "action")
        if action in ("pause", "resume"):
            marks.append((_utc(_field(e, "at")), action))
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


def paused_business_days(cal: BusinessCalendar, intervals: Iterable[tuple[datetime, datetime | None]], since: datetime | None = None) -> int:
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
