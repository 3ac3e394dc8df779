"""The wall display's figures as values (no SQL, no Textual): what
app.dashboard_data.snapshot() returns and the screen draws."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app import clocks


@dataclass(frozen=True)
class Share:
    """Clocks met out of the clocks that stopped or breached in a period."""

    met: int = 0
    total: int = 0

    @property
    def percent(self) -> float | None:
        return None if self.total == 0 else 100.0 * self.met / self.total

    def __add__(self, other: Share) -> Share:
        return Share(self.met + other.met, self.total + other.total)


@dataclass(frozen=True)
class ComplianceRow:
    key: str  # acknowledgment, resolution, resolution_extended, final_response, refund_review
    label: str
    promise: str  # the policy's promise, e.g. "2 business days"
    today: Share
    week: Share
    month: Share  # the last 30 days, today included


@dataclass(frozen=True)
class DeadlineRow:
    reference: str
    kind: str
    clock: str
    due: datetime  # UTC
    assignee: str | None  # staff login
    start: datetime | None = None  # when the clock started (UTC)
    paused: datetime | None = None  # waiting on the customer since (UTC)

    def view(self, now: datetime) -> clocks.ClockView:
        """The clock at `now` (app.clocks: frozen while paused), for its words."""
        return clocks.view(self.start, self.due, now, None, self.paused)


@dataclass(frozen=True)
class AgentLoad:
    login: str | None  # None: unassigned
    name: str
    open: int
    at_risk: int
    breached: int


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: int
    alarm: bool  # non-zero is bad news


TILE_LABELS: dict[str, str] = {
    "open_complaints": "Open complaints",
    "acks_due_today": "Acks due today",
    "breached_now": "Breached now",
    "at_risk": "At risk",
    "escalations_awaiting_senior": "Escalations w/o senior",
    "refunds_awaiting_decision": "Refunds to decide",
    "refunds_processing": "Refunds processing",
    "quarantined_mail": "Quarantined mail",
    "undelivered_mail": "Undelivered mail",
}
ALARM_TILES = frozenset(
    {"breached_now", "at_risk", "escalations_awaiting_senior", "quarantined_mail", "undelivered_mail"}
)


@dataclass(frozen=True)
class DashboardData:
    now: datetime
    today: date  # the desk-local date of `now`
    open_total: int = 0
    open_complaints: int = 0
    acks_due_today: int = 0
    breached_now: int = 0
    at_risk: int = 0
    escalations_awaiting_senior: int = 0
    refunds_awaiting_decision: int = 0
    refunds_processing: int = 0
    extended_open: int = 0  # open complaints whose resolution deadline was extended
    quarantined_mail: int = 0
    outbound_failed: int = 0
    outbound_stuck: int = 0  # queued, past its attempt time by more than OUTBOX_GRACE
    compliance: tuple[ComplianceRow, ...] = ()
    next_deadlines: tuple[DeadlineRow, ...] = ()
    breached: tuple[DeadlineRow, ...] = ()  # oldest first, at most BREACHED_LIST_LIMIT
    agents: tuple[AgentLoad, ...] = ()
    trend_days: tuple[date, ...] = ()
    received_per_day: tuple[int, ...] = ()
    closed_per_day: tuple[int, ...] = ()
    breaches_per_day: tuple[int, ...] = ()
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def undelivered_mail(self) -> int:
        return self.outbound_failed + self.outbound_stuck

    def tiles(self) -> list[Tile]:
        """The big-number tiles in display order (most urgent first)."""
        order = (
            "breached_now",
            "at_risk",
            "acks_due_today",
            "open_complaints",
            "escalations_awaiting_senior",
            "refunds_awaiting_decision",
            "refunds_processing",
            "undelivered_mail",
            "quarantined_mail",
        )
        return [Tile(k, TILE_LABELS[k], int(getattr(self, k)), k in ALARM_TILES) for k in order]
