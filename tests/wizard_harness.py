"""A tiny App hosting the refund wizard (until app/console.py provides one):
it carries the ScreenContext the screen reads (app/screen_context.py), and
.desk, .actor, .config, .now, .calendar as the console does."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from textual.app import App

from app.business_calendar import BusinessCalendar
from app.config import DeskConfig
from app.identity import Actor
from app.refunds import parse_facts
from app.screen_context import ContextHolder, ScreenContext
from models import RefundCase
from refund_case_helpers import add_refund_ticket
from screens.refund_wizard import RefundWizardScreen, read_case


class WizardApp(ContextHolder, App):
    def __init__(
        self, desk, actor: Actor, reference: str, now: Callable[[], datetime], calendar: BusinessCalendar
    ) -> None:
        super().__init__()
        self.context = ScreenContext(desk, actor, DeskConfig(), now, calendar)
        self.reference = reference

    def on_mount(self) -> None:
        # read before it opens, as an opener may (the screen reads it in a worker otherwise)
        case = read_case(self.desk, self.reference, self.now(), self.calendar.tz)
        self.push_screen(RefundWizardScreen(self.reference, case=case))


def add_case(s, ref: str, policy: str, facts: dict | None, **kw) -> int:
    """A refund ticket with stored (undecided) facts, complete as a saved case
    stores them (Facts.to_dict); returns the ticket id."""
    t = add_refund_ticket(s, ref, brand=policy, **kw)
    if facts is not None:
        s.add(RefundCase(ticket_id=t.id, policy=policy, facts=json.dumps(parse_facts(facts).to_dict())))
    s.flush()
    return t.id


def page_text(screen) -> str:
    return str(screen.query_one("#step").render())


async def walk_to_decision(pilot, limit: int = 40) -> int:
    """Press → until the decision page; returns the number of step pages seen."""
    screen = pilot.app.screen
    pages = 0
    while not screen.on_decision_page and pages < limit:
        await pilot.press("right")
        pages += 1
    await pilot.pause()
    return pages
