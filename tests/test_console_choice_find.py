"""A choice list finds as you type (screens/choice_prompt.py): a supervisor who
types "A", "bob" and enter in one burst assigns to bob. Before, the letters
were dropped and enter picked the first name in the list (alice)."""

from __future__ import annotations

from console_helpers import make_app, reload_ticket, screen_text, settle
from test_console_typeahead import open_fast, ticket_for
from typing_helpers import burst


def _assignee(desk, reference: str) -> str | None:
    from app import tickets
    from models import Staff

    with desk.reader() as s:
        t = tickets.get(s, reference)
        return s.get(Staff, t.assignee_id).login if t.assignee_id else None


async def test_typed_letters_pick_the_option_they_name(demo_desk):
    t = ticket_for(demo_desk, "olivia", "assign")
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(pilot, "A", "bob", "enter")
        await settle(pilot)
        assert _assignee(demo_desk, t.reference) == "bob"
        # a name typed as it is written, from its middle, finds it too
        await burst(pilot, "A", "Hiro T", "enter")
        await settle(pilot)
        assert _assignee(demo_desk, t.reference) == "hiro"


async def test_letters_that_match_nothing_pick_nothing(demo_desk):
    from screens.choice_prompt import ChoicePrompt

    t = ticket_for(demo_desk, "olivia", "assign")
    before = reload_ticket(demo_desk, t.reference)
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(pilot, "A", "zq", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChoicePrompt)  # still open: enter picked nothing
        assert "find: zq (no match)" in screen_text(app)
        await burst(pilot, "backspace", "backspace", "car", "enter")
        await settle(pilot)
        assert _assignee(demo_desk, t.reference) == "carmen"
        assert reload_ticket(demo_desk, t.reference).version == before.version + 1
