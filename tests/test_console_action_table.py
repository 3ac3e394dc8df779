"""Adding a ticket action is one table entry and one service function: with a
made-up action appended to app.workflow.actions.TICKET_ACTIONS (and the
screen module imported afresh, as a build with that entry would), the ticket
screen's keys, footer and "Next steps", the command palette, `?` help, a
`[keys]` remap and `esimdesk ticket` all carry it, and its key runs it."""

from __future__ import annotations

import importlib
import json

import pytest

from app.config import DeskConfig
from app.workflow import actions
from app.workflow.actions import TicketAction
from console_helpers import find_ticket, make_app, open_by_filter, screen_text, settle


def flag(session, actor, reference, *, expected_version, now, config):
    """The made-up action's one service function: an internal note."""
    from app.workflow import add_note

    return add_note(
        session, actor, reference, "flagged for a colleague", expected_version=expected_version, now=now, config=config
    )


FLAG = TicketAction(
    "flag",
    "Flag for a colleague",
    "g",
    service=flag,
    who="work_tickets",
    when=lambda t, a, s: t.status != "closed",
    done="flagged",
    cli="flag",
    cli_help="flag the ticket for a colleague",
)


@pytest.fixture
def with_flag(monkeypatch):
    import screens.ticket_detail

    table = (*actions.TICKET_ACTIONS, FLAG)  # the one entry
    monkeypatch.setattr(actions, "TICKET_ACTIONS", table)
    monkeypatch.setattr(actions, "BY_ID", {a.id: a for a in table})
    monkeypatch.setattr(actions, "ACTIONS", tuple(a.id for a in table))
    importlib.reload(screens.ticket_detail)  # its class built from the table, as at import
    yield table
    monkeypatch.undo()
    importlib.reload(screens.ticket_detail)


def _notes(desk, reference: str) -> list[str]:
    from app import tickets
    from app.workflow import timeline

    with desk.reader() as s:
        return [i.text or "" for i in timeline(s, tickets.get(s, reference).id)]


@pytest.mark.parametrize("remap", [None, "G"], ids=["default-key", "remapped"])
async def test_an_added_action_is_on_every_surface(demo_desk, with_flag, remap):
    from app.cli.keymap import check_keys
    from screens.help import binding_rows

    keys = {"flag": remap} if remap else {}
    check_keys(keys)  # the [keys] check knows the new id
    key = remap or "g"
    t = find_ticket(demo_desk, kind="complaint", status="acknowledged")
    app = make_app(demo_desk, "alice", DeskConfig(console_start_view="all", keys=keys))
    async with app.run_test(size=(200, 50)) as pilot:
        await open_by_filter(pilot, t.reference)
        screen = app.screen
        offered = screen.data.actions
        assert "flag" in offered
        declared = {b.id: (b.key, b.description) for b in type(screen).BINDINGS}
        for a in with_flag:  # every entry has a key binding, with its id and its words
            assert declared[a.id] == (a.key, a.label), a.id
        active = {b.binding.id: b.binding.key for b in screen.active_bindings.values()}
        assert set(offered) <= set(active) and active["flag"] == key  # offered ones active, as remapped
        palette = {c.title: c.help for c in app.get_system_commands(screen)}
        help_rows = {words: shown for shown, words in binding_rows(screen)}
        text = screen_text(app)
        for name in offered:  # every offered entry: in "Next steps", the footer, the palette and help
            label = actions.BY_ID[name].label
            assert label in text and label in palette and label in help_rows, name
        assert palette["Flag for a colleague"] == f"key {key}" and help_rows["Flag for a colleague"] == key
        assert f"{key} Flag for a colleague" in " ".join(text.split())
        await pilot.press(key)  # no prompt, no mail: it just runs
        await settle(pilot)
        assert any("flagged" in n.message for n in app._notifications)
    assert "flagged for a colleague" in _notes(demo_desk, t.reference)


def test_an_added_action_is_an_esimdesk_ticket_command(demo_desk, demo_url, with_flag, capsys):
    from app.cli.main import main

    t = find_ticket(demo_desk, kind="complaint", status="acknowledged")
    assert main(["--db", demo_url, "--as", "alice", "ticket", "flag", t.reference]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reference"] == t.reference and out["version"] == t.version + 1
    assert "flagged for a colleague" in _notes(demo_desk, t.reference)
