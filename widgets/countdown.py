"""How a clock's state is drawn: the component-class suffix per state (the
styles live in the .tcss files of the widgets that draw clocks). The state
and the words come from app.clocks; widgets only draw them."""

from __future__ import annotations

from models.enums import ClockState

STATE_CLASS = {
    ClockState.ON_TRACK: "on-track",
    ClockState.AT_RISK: "at-risk",
    ClockState.BREACHED: "breached",
    ClockState.MET: "met",
    ClockState.MISSED: "missed",
}
