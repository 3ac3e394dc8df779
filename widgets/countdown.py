"""Live SLA countdowns: `due - now` as text coloured by the clock's state.

Pure presentation: the state comes from app.sla_clocks.clock_state, the
words from app.sla_clocks.format_countdown, `now` from the app's clock.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from app.sla_clocks import DEFAULT_AT_RISK_SHARE, clock_state, format_countdown
from models.enums import ClockState

# component-class suffix per state (styles live in the .tcss files)
STATE_CLASS = {
    ClockState.ON_TRACK: "on-track",
    ClockState.AT_RISK: "at-risk",
    ClockState.BREACHED: "breached",
    ClockState.MET: "met",
    ClockState.MISSED: "missed",
}


def row_state(
    start: datetime | None,
    due: datetime | None,
    now: datetime,
    stopped: datetime | None = None,
    paused: datetime | None = None,
    share: float = DEFAULT_AT_RISK_SHARE,
) -> ClockState | None:
    """The clock's state, frozen at the pause while waiting on the customer."""
    if due is None or start is None:
        return None
    if stopped is None and paused is not None and paused < now:
        now = paused
    return clock_state(start, due, now, stopped, share)


def countdown_words(due: datetime | None, now: datetime, state: ClockState | None, paused: datetime | None = None) -> str:
    """'1d 04:12:09', 'BREACHED 2h', 'met', 'paused 1d 02:00:00' or '—'."""
    if due is None or state is None:
        return "—"
    if state == ClockState.MET:
        return "met"
    if state == ClockState.MISSED:
        return "missed"
    if paused is not None and paused < now:
        left = int((due - paused).total_seconds())
        if left <= 0:
            return "paused, late"
        d, rest = divmod(left, 86400)
        return f"paused {d}d {rest // 3600}h" if d else f"paused {rest // 3600}h {rest % 3600 // 60}m"
    return format_countdown(due, now)


class Countdown(Static):
    """One clock: label, live countdown and the due date; ticks once a second."""

    COMPONENT_CLASSES = {"countdown--" + c for c in STATE_CLASS.values()}

    def __init__(
        self,
        label: str,
        start: datetime | None,
        due: datetime | None,
        now: Callable[[], datetime],
        *,
        stopped: datetime | None = None,
        paused: datetime | None = None,
        due_text: str = "",
        share: float = DEFAULT_AT_RISK_SHARE,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, markup=False)
        self.label = label
        self.start, self.due, self.stopped, self.paused = start, due, stopped, paused
        self.now, self.due_text, self.share = now, due_text, share

    def on_mount(self) -> None:
        self._tick()
        if self.due is not None and self.stopped is None:
            self.set_interval(1.0, self._tick)

    def render_text(self) -> Text:
        now = self.now()
        state = row_state(self.start, self.due, now, self.stopped, self.paused, self.share)
        words = countdown_words(self.due, now, state, self.paused)
        style = self.get_component_rich_style("countdown--" + STATE_CLASS[state], partial=True) if state else ""
        text = Text(f"{self.label}: ")
        text.append(words, style=style)
        if self.due_text:
            text.append(f"  (due {self.due_text})")
        return text

    def _tick(self) -> None:
        self.update(self.render_text())
