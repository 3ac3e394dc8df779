"""Clock rules in one place: which clock governs a ticket, when it started,
when it is due, when it stopped, the pause that freezes it, its state and the
words for it; in Python (for one ticket) and as the SQL expressions the queue,
the wall and the export's figures use (for many).

Lengths and deadline arithmetic live in app.sla_clocks; this module decides
what a clock *is* at an instant. The rules:

- The governing clock of an open ticket (`governing_clock`): complaint:
  acknowledgment until acknowledged, then resolution (stopped when the
  resolution is communicated); escalation: final response; refund: the 24-hour
  acknowledgment (when started) until acknowledged, then review until decided,
  then the clock `due_clock` names; inquiry: acknowledgment. The workflow
  stores that clock's deadline in `due_at`/`due_clock` (app.workflow.guard), so
  the SQL form reads the clock from `due_clock`.
- A stopped clock is met (stopped by its due) or missed.
- A running clock is breached past its due, at risk when less than
  `at_risk_share` of its length is left, else on track.
- While the ticket waits on the customer (`paused_since`) the clock is frozen:
  it is judged at the instant the pause began, and shown as "paused".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar, overload

from sqlalchemy import BindParameter, Float, and_, bindparam, case, func, literal, or_, type_coerce
from sqlalchemy.sql import ColumnElement

from app.sla_clocks import (
    ACK_BUSINESS_DAYS,
    FINAL_RESPONSE_BUSINESS_DAYS,
    REFUND_REVIEW_BUSINESS_DAYS,
    RESOLUTION_BUSINESS_DAYS,
)
from models import Ticket, table_of
from models.enums import Clock, ClockState, TicketKind, TicketStatus

DEFAULT_AT_RISK_SHARE = 0.25
_CLOSED = TicketStatus.CLOSED.value
_T = table_of(Ticket)  # the SQL forms' columns

# the column each clock's deadline is stored in (a decided refund's clocks only in due_at)
DUE_FIELD: dict[Clock, str] = {
    Clock.ACKNOWLEDGMENT: "ack_due_at",
    Clock.RESOLUTION: "resolution_due_at",
    Clock.FINAL_RESPONSE: "final_response_due_at",
    Clock.REFUND_REVIEW: "review_due_at",
    Clock.REFUND_INITIATION: "due_at",
    Clock.REFUND_ACK: "ack_due_at",
    Clock.REFUND_DECISION: "due_at",
    Clock.REFUND_IN_ACCOUNT: "due_at",
}
# the column each clock starts at, and the one that stops it (None: nothing but the workflow moving on)
START_FIELD: dict[Clock, str] = {
    Clock.RESOLUTION: "acknowledged_at",
    Clock.REFUND_INITIATION: "decided_at",
    Clock.REFUND_IN_ACCOUNT: "decided_at",
}  # every other clock starts when the ticket was received
STOP_FIELD: dict[Clock, str] = {
    Clock.ACKNOWLEDGMENT: "acknowledged_at",
    Clock.RESOLUTION: "resolution_communicated_at",
    Clock.FINAL_RESPONSE: "final_response_at",
}
# after the decision a refund's clock lives in due_at/due_clock (app/refund_cases.py sets it)
_DECIDED_REFUND_CLOCKS = (Clock.REFUND_DECISION.value, Clock.REFUND_INITIATION.value, Clock.REFUND_IN_ACCOUNT.value)


# -- one ticket, in Python ------------------------------------------------------
# An instant as the caller holds it: a datetime (a Ticket), or the stored text
# of app.deadlines' raw SQLite rows; the rules only pass it along.
_I_co = TypeVar("_I_co", covariant=True)


class ClockColumns(Protocol[_I_co]):
    """The columns the clock rules read of a ticket: a Ticket, or a row that
    names its clock columns as Ticket does (app.deadlines' rows, a demo row)."""

    @property
    def kind(self) -> str: ...
    @property
    def received_at(self) -> _I_co | None: ...
    @property
    def ack_due_at(self) -> _I_co | None: ...
    @property
    def acknowledged_at(self) -> _I_co | None: ...
    @property
    def resolution_due_at(self) -> _I_co | None: ...
    @property
    def resolution_communicated_at(self) -> _I_co | None: ...
    @property
    def final_response_due_at(self) -> _I_co | None: ...
    @property
    def final_response_at(self) -> _I_co | None: ...
    @property
    def review_due_at(self) -> _I_co | None: ...
    @property
    def decided_at(self) -> _I_co | None: ...
    @property
    def due_at(self) -> _I_co | None: ...
    @property
    def due_clock(self) -> str | None: ...


_I = TypeVar("_I")
Clocked = tuple[Clock | None, _I | None, _I | None, _I | None]  # (clock, start, due, stopped_at)


def _utc(dt: datetime) -> datetime:
    return dt if dt.utcoffset() is not None else dt.replace(tzinfo=UTC)


def _start_of(ticket: ClockColumns[_I], clock: Clock) -> _I | None:
    start: _I | None = getattr(ticket, START_FIELD.get(clock, "received_at"))  # a column named by START_FIELD
    return start


@overload
def governing_clock(ticket: ClockColumns[datetime]) -> Clocked[datetime]: ...
@overload
def governing_clock(ticket: ClockColumns[str | datetime]) -> Clocked[str | datetime]: ...  # app.deadlines' raw rows


def governing_clock(ticket: ClockColumns[_I]) -> Clocked[_I]:
    """(clock, start, due, stopped_at) of the clock that governs `ticket` now
    (the rules in the module's docstring). A closed ticket has none. `due` may
    be None when the workflow has not stored it."""
    if getattr(ticket, "status", None) == _CLOSED:
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
            return (Clock(clock), _start_of(ticket, Clock(clock)), ticket.due_at, None)
        return (None, None, None, None)
    if kind == TicketKind.INQUIRY.value:
        return (Clock.ACKNOWLEDGMENT, ticket.received_at, ticket.ack_due_at, ticket.acknowledged_at)
    return (None, None, None, None)


def last_clock(ticket: ClockColumns[datetime]) -> Clocked[datetime]:
    """(clock, start, due, stopped_at) of the last clock a closed ticket ran:
    the clock its SLA figures are judged by (met or missed); JUDGED_CLOCKS is
    the same rule for the wall's compliance figures."""
    kind = ticket.kind
    closed = getattr(ticket, "closed_at", None)
    if kind == TicketKind.COMPLAINT.value:
        if ticket.acknowledged_at is None:
            return (Clock.ACKNOWLEDGMENT, ticket.received_at, ticket.ack_due_at, closed)
        return (
            Clock.RESOLUTION,
            ticket.acknowledged_at,
            ticket.resolution_due_at,
            ticket.resolution_communicated_at or closed,
        )
    if kind == TicketKind.ESCALATION.value:
        return (
            Clock.FINAL_RESPONSE,
            ticket.received_at,
            ticket.final_response_due_at,
            ticket.final_response_at or closed,
        )
    if kind == TicketKind.REFUND.value:
        return (Clock.REFUND_REVIEW, ticket.received_at, ticket.review_due_at, ticket.decided_at or closed)
    if kind == TicketKind.INQUIRY.value:
        return (Clock.ACKNOWLEDGMENT, ticket.received_at, ticket.ack_due_at, ticket.acknowledged_at or closed)
    return (None, None, None, None)


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


@dataclass(frozen=True)
class ClockView:
    """One clock at one instant: what every screen and report shows of it."""

    label: str
    start: datetime | None
    due: datetime | None
    stopped: datetime | None
    paused: datetime | None  # the pause that froze it (None when it counts, or has stopped)
    now: datetime
    state: ClockState | None  # None: no deadline to judge by
    clock: Clock | None = None

    @property
    def running(self) -> bool:
        return self.due is not None and self.stopped is None

    @property
    def left(self) -> timedelta | None:
        """Time to the deadline, frozen at the pause while paused."""
        return None if self.due is None else self.due - (self.paused or self.now)


def view(
    start: datetime | None,
    due: datetime | None,
    now: datetime,
    stopped: datetime | None = None,
    paused: datetime | None = None,
    share: float = DEFAULT_AT_RISK_SHARE,
    label: str = "",
    clock: Clock | None = None,
) -> ClockView:
    """The clock from `start` to `due` at `now`: judged at the pause when the
    ticket waits on the customer since before `now`."""
    now = _utc(now)
    start, due = (_utc(start) if start else None), (_utc(due) if due else None)
    stopped = _utc(stopped) if stopped else None
    frozen = _utc(paused) if paused is not None and stopped is None and _utc(paused) < now else None
    state = None if due is None or start is None else clock_state(start, due, frozen or now, stopped, share)
    return ClockView(label, start, due, stopped, frozen, now, state, clock)


def ticket_sla_state(
    ticket: ClockColumns[datetime], now: datetime, at_risk_share: float = DEFAULT_AT_RISK_SHARE
) -> ClockState | None:
    """State of the governing clock (of the last clock, once closed), or None
    when no clock (or no deadline)."""
    clock, start, due, stopped = governing_clock(ticket)
    if clock is None and getattr(ticket, "status", None) == _CLOSED:
        clock, start, due, stopped = last_clock(ticket)
        if stopped is None:  # closed, but no instant to judge the clock by
            return None
    if clock is None or start is None or due is None:
        return None
    return view(start, due, now, stopped, getattr(ticket, "paused_since", None), at_risk_share).state


CLOCK_LABELS: dict[Clock, str] = {
    Clock.ACKNOWLEDGMENT: "Acknowledge",
    Clock.RESOLUTION: "Resolution",
    Clock.FINAL_RESPONSE: "Final response",
    Clock.REFUND_REVIEW: "Refund review",
    Clock.REFUND_INITIATION: "Refund initiation",
    Clock.REFUND_DECISION: "Decision to customer",
    Clock.REFUND_IN_ACCOUNT: "Refund in account",
}
# the clocks a ticket header lists: (clock, its stop column) in display order
_HEADER_CLOCKS = (
    (Clock.ACKNOWLEDGMENT, "acknowledged_at"),
    (Clock.RESOLUTION, "resolution_communicated_at"),
    (Clock.FINAL_RESPONSE, "final_response_at"),
    (Clock.REFUND_REVIEW, "decided_at"),
)


def ticket_clocks(t: Ticket, now: datetime, share: float = DEFAULT_AT_RISK_SHARE) -> list[ClockView]:
    """Every clock the ticket has started, at `now` (the detail header's lines)."""
    out = []
    for clock, stop in _HEADER_CLOCKS:
        due: datetime | None = getattr(t, DUE_FIELD[clock])  # the column DUE_FIELD names
        if due:
            start = _start_of(t, clock)
            named = Clock.REFUND_ACK if clock == Clock.ACKNOWLEDGMENT and t.kind == TicketKind.REFUND.value else clock
            out.append(view(start, due, now, getattr(t, stop), t.paused_since, share, CLOCK_LABELS[clock], named))
    if t.due_clock in _DECIDED_REFUND_CLOCKS and t.due_at:
        clock = Clock(t.due_clock)
        out.append(view(_start_of(t, clock), t.due_at, now, None, t.paused_since, share, CLOCK_LABELS[clock], clock))
    return out


# -- words ------------------------------------------------------------------------
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


def _paused_words(v: ClockView) -> str:
    left = int((v.left or timedelta(0)).total_seconds())  # callers check v.due, so left is set
    if left <= 0:
        return "paused, late"
    d, rest = divmod(left, 86400)
    return f"paused {d}d {rest // 3600}h" if d else f"paused {rest // 3600}h {rest % 3600 // 60}m"


def words(v: ClockView) -> str:
    """The queue's and the header's words: '1d 04:12:09', 'BREACHED 2h',
    'met', 'missed', 'paused 1d 2h', 'paused, late' or '—'."""
    if v.due is None or v.state is None:
        return "—"
    if v.state == ClockState.MET:
        return "met"
    if v.state == ClockState.MISSED:
        return "missed"
    if v.paused is not None:
        return _paused_words(v)
    return format_countdown(v.due, v.now)


def short_words(v: ClockView) -> str:
    """The wall's compact words: "3d late", "5h late", "45m late"; "2d 04h",
    "11:59" (hours:minutes) before the deadline; a paused clock as in `words`."""
    if v.due is None:
        return "—"
    if v.paused is not None:
        return _paused_words(v)
    secs = int((v.due - v.now).total_seconds())
    if secs < 0:
        over = -secs
        if over >= 86400:
            return f"{over // 86400}d late"
        if over >= 3600:
            return f"{over // 3600}h late"
        return f"{max(1, over // 60)}m late"
    days, rest = divmod(secs, 86400)
    h, m = rest // 3600, (rest % 3600) // 60
    return f"{days}d {h:02d}h" if days else f"{h:02d}:{m:02d}"


# -- many tickets, in SQL ---------------------------------------------------------
# The stored due_at/due_clock name the governing clock (app.workflow.guard keeps
# them), so these read the clock's start and stop by due_clock.
Instant = datetime | ColumnElement[datetime]  # `now`: an aware datetime, or a bind parameter (now_param)
Condition = ColumnElement[bool]


def start_sql() -> ColumnElement[datetime]:
    """The start instant of the clock due_clock names."""
    by_field: dict[str, list[str]] = {}
    for clock, name in START_FIELD.items():
        by_field.setdefault(name, []).append(clock.value)
    due_clock = _T.c.due_clock
    whens = [
        (due_clock.in_(clocks) if len(clocks) > 1 else due_clock == clocks[0], _T.c[name])
        for name, clocks in by_field.items()
    ]
    return case(*whens, else_=_T.c.received_at)


def stop_sql() -> ColumnElement[datetime | None]:
    """When the clock due_clock names stopped (met), or NULL while it runs."""
    due_clock = _T.c.due_clock
    return case(*[(due_clock == clock.value, _T.c[name]) for clock, name in STOP_FIELD.items()], else_=None)


def instant(now: Instant) -> ColumnElement[datetime]:
    """`now` (an aware datetime or a bind parameter) as an SQL instant."""
    if isinstance(now, datetime):
        return literal(_utc(now).astimezone(UTC), _T.c.due_at.type)
    return now


def running_sql() -> Condition:
    """An open ticket's clock runs: it has a deadline and a start and has not stopped."""
    return and_(_T.c.due_at.is_not(None), start_sql().is_not(None), stop_sql().is_(None))


def overdue_sql(
    now: Instant, due: ColumnElement[datetime] | None = None, paused: ColumnElement[datetime] | None = None
) -> Condition:
    """Past `due` (the ticket's due_at) at `now`, unless the ticket waits on
    the customer since before it was due (judged at the pause: `view`'s rule,
    in a form the (status, due_at) index serves)."""
    due = _T.c.due_at if due is None else due
    paused = _T.c.paused_since if paused is None else paused
    return and_(due < instant(now), or_(paused.is_(None), paused > due))


def breached_sql(now: Instant) -> list[Condition]:
    """The breached view's conditions (without the open-status test)."""
    return [overdue_sql(now), stop_sql().is_(None)]


def _seconds(expr: ColumnElement[Any]) -> ColumnElement[float]:
    """SQL (SQLite): an instant as seconds."""
    return func.julianday(expr) * 86400.0


def _sqlite_instant(now: Instant) -> ColumnElement[datetime] | ColumnElement[str]:
    if isinstance(now, datetime):  # julianday() reads the text form
        return literal(_utc(now).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
    return now


# when a clock becomes at risk: seconds (SQLite's julianday) or UTC wall time (PostgreSQL)
RiskPoint = ColumnElement[float] | ColumnElement[datetime]


def risk_from_sql(dialect: str, share: float) -> RiskPoint:
    """When the running clock becomes at risk: its due less `share` of its
    length (SQLite: julianday seconds). app.wall_ranges indexes it."""
    due_at = _T.c.due_at
    if dialect != "sqlite":  # UTC wall time (immutable arithmetic); Float only lets SQLAlchemy multiply the interval
        return _utc_sql(due_at) - type_coerce(due_at - start_sql(), Float) * share
    due_s = _seconds(due_at)
    return due_s - (due_s - _seconds(start_sql())) * share


def at_risk_sql(dialect: str, now: Instant, share: float) -> list[Condition]:
    """Not yet due (at the pause, while paused), and less than `share` of the
    clock's length left: past `risk_from_sql`."""
    paused_since = _T.c.paused_since
    paused_before = and_(paused_since.is_not(None), paused_since < instant(now))
    eff_now = case((paused_before, paused_since), else_=instant(now))
    eff_risk = case((paused_before, risk_now_sql(dialect, paused_since)), else_=risk_now_sql(dialect, now))
    return [_T.c.due_at >= eff_now, risk_from_sql(dialect, share) < eff_risk]


def at_risk_at_pause_sql(dialect: str, share: float) -> list[Condition]:
    """`at_risk_sql` of a ticket paused before now: judged at the pause, free of now (app/queue_ranges.py)."""
    paused = _T.c.paused_since
    return [paused.is_not(None), _T.c.due_at >= paused, risk_from_sql(dialect, share) < risk_now_sql(dialect, paused)]


def risk_now_sql(dialect: str, now: Instant) -> RiskPoint:
    """`now` in `risk_from_sql`'s terms."""
    return _seconds(_sqlite_instant(now)) if dialect == "sqlite" else _utc_sql(instant(now))


def _utc_sql(expr: ColumnElement[datetime] | ColumnElement[datetime | None]) -> ColumnElement[datetime]:
    """SQL (PostgreSQL): an instant as UTC wall time."""
    return func.timezone("UTC", expr, type_=_T.c.due_at.type)


def state_code_sql(dialect: str, now: Instant, share: float) -> ColumnElement[int]:
    """0 (no running clock, or on track), 1 at risk, 2 breached, per open ticket."""
    return case((~running_sql(), 0), (overdue_sql(now), 2), (and_(*at_risk_sql(dialect, now, share)), 1), else_=0)


def now_param(name: str = "now") -> BindParameter[datetime]:
    """A bind parameter for `now`, typed like the stored instants."""
    return bindparam(name, type_=_T.c.received_at.type)


# -- the clocks the wall judges for compliance (last_clock's rule, per clock) ----
@dataclass(frozen=True)
class JudgedClock:
    key: str
    label: str
    promise: str
    kind: str
    due: object  # SQL expressions
    stopped: object
    where: object | None = None


def judged_clocks() -> list[JudgedClock]:
    """Each clock the wall's compliance table judges: due, and stopped at its
    stop or (at the latest) when the ticket closed."""
    c = TicketKind.COMPLAINT.value
    days = "{} business days".format
    return [
        JudgedClock(
            "acknowledgment",
            "Acknowledgment",
            days(ACK_BUSINESS_DAYS),
            c,
            Ticket.ack_due_at,
            func.coalesce(Ticket.acknowledged_at, Ticket.closed_at),
        ),
        JudgedClock(
            "resolution",
            "Resolution",
            days(RESOLUTION_BUSINESS_DAYS),
            c,
            Ticket.resolution_due_at,
            func.coalesce(Ticket.resolution_communicated_at, Ticket.closed_at),
            _T.c.acknowledged_at.is_not(None),
        ),
        JudgedClock(
            "final_response",
            "Escalation final resp.",
            days(FINAL_RESPONSE_BUSINESS_DAYS),
            TicketKind.ESCALATION.value,
            Ticket.final_response_due_at,
            func.coalesce(Ticket.final_response_at, Ticket.closed_at),
        ),
        JudgedClock(
            "refund_review",
            "Refund review",
            days(REFUND_REVIEW_BUSINESS_DAYS),
            TicketKind.REFUND.value,
            Ticket.review_due_at,
            func.coalesce(Ticket.decided_at, Ticket.closed_at),
        ),
    ]


__all__ = [
    "CLOCK_LABELS",
    "DEFAULT_AT_RISK_SHARE",
    "DUE_FIELD",
    "ClockView",
    "JudgedClock",
    "at_risk_at_pause_sql",
    "at_risk_sql",
    "breached_sql",
    "clock_state",
    "format_countdown",
    "governing_clock",
    "instant",
    "judged_clocks",
    "last_clock",
    "now_param",
    "overdue_sql",
    "risk_from_sql",
    "risk_now_sql",
    "running_sql",
    "short_words",
    "start_sql",
    "state_code_sql",
    "stop_sql",
    "ticket_clocks",
    "ticket_sla_state",
    "view",
    "words",
]
