"""Drafts survive: stored as typed (per ticket, person and kind), back when
the prompt opens again, deleted once saved; a refusal shows inside the prompt
and keeps the text; a concurrent change offers "reload, keep my text";
escape on typed text asks first."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from app import drafts
from app.drafts import DraftKey
from conftest import FROZEN_NOW
from console_helpers import make_app, reload_ticket, screen_text, settle
from test_console_typeahead import open_fast, stored_bodies, ticket_for
from typing_helpers import burst


# -- the domain module ---------------------------------------------------------
def _ticket_and_staff(desk):
    from models import Staff, Ticket

    with desk.session() as s:
        a = Staff(login="alice", name="Alice", email="alice@example.test", role="agent", created_at=FROZEN_NOW)
        b = Staff(login="bob", name="Bob", email="bob@example.test", role="agent", created_at=FROZEN_NOW)
        t = Ticket(
            reference="CMP-2026-000001",
            kind="complaint",
            received_at=FROZEN_NOW,
            created_at=FROZEN_NOW,
            updated_at=FROZEN_NOW,
        )
        s.add_all([a, b, t])
        s.flush()
        return t.id, a.id, b.id


def test_a_draft_is_one_row_per_ticket_person_and_kind(desk):
    tid, alice, bob = _ticket_and_staff(desk)
    note, reply, bobs = DraftKey(tid, alice, "note"), DraftKey(tid, alice, "reply"), DraftKey(tid, bob, "note")
    store = drafts.DraftStore(desk)
    assert store.load(note) is None
    store.save(note, "first words", FROZEN_NOW)
    store.save(note, "first words, then more", FROZEN_NOW + timedelta(seconds=1))
    store.save(reply, "Dear customer", FROZEN_NOW)
    store.save(bobs, "bob's own", FROZEN_NOW)
    assert store.load(note) == "first words, then more"
    assert store.load(reply) == "Dear customer" and store.load(bobs) == "bob's own"
    from models import Draft

    with desk.reader() as s:
        mine = s.exec(select(Draft.kind, Draft.body).where(Draft.staff_id == alice).order_by(Draft.kind)).all()
    assert [tuple(r) for r in mine] == [("note", "first words, then more"), ("reply", "Dear customer")]
    store.save(note, "   ", FROZEN_NOW)  # blank: nothing worth keeping
    assert store.load(note) is None
    store.discard(reply)
    assert store.load(reply) is None and store.load(bobs) == "bob's own"


def test_two_consoles_of_one_person_write_one_draft(desk):
    """The same person's second console overwrites the draft: one row, the last text."""
    from models import Draft

    tid, alice, _ = _ticket_and_staff(desk)
    key = DraftKey(tid, alice, "note")
    with desk.session() as s1:
        drafts.put(s1, key, "from console one", FROZEN_NOW)
    with desk.session() as s2:
        drafts.put(s2, key, "from console two", FROZEN_NOW)
    with desk.reader() as s:
        assert [r.body for r in s.exec(select(Draft))] == ["from console two"]


def test_a_draft_key_needs_a_kind():
    with pytest.raises(ValueError):
        DraftKey(1, 1, "")


# -- in the console --------------------------------------------------------------
def draft_of(desk, login: str, ticket_id: int, kind: str) -> str | None:
    from app.identity import resolve_actor

    with desk.reader() as s:
        staff_id = resolve_actor(s, login).id
        return drafts.get(s, DraftKey(ticket_id, staff_id, kind))


async def wait_for_draft(desk, login, ticket_id, kind, want, seconds: float = 5.0) -> str | None:
    got = None
    for _ in range(int(seconds / 0.1)):
        got = draft_of(desk, login, ticket_id, kind)
        if got == want:
            return got
        await asyncio.sleep(0.1)
    return got


async def test_a_note_draft_is_stored_as_typed_and_back_when_the_prompt_opens_again(demo_desk):
    from screens.prompts import TextPrompt

    t = ticket_for(demo_desk, "alice", "note", kind="complaint", status="investigation")
    text = "Half a thought about the APN (q? M d)"
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(pilot, "n", text)
        assert await wait_for_draft(demo_desk, "alice", t.id, "note", text) == text  # stored without ctrl+s
        await burst(pilot, "escape")  # typed text: asks first
        await settle(pilot)
        assert "Leave this text?" in screen_text(app)
        await burst(pilot, "enter")  # keep it as a draft for later
        await settle(pilot)
        assert not isinstance(app.screen, TextPrompt)
        assert draft_of(demo_desk, "alice", t.id, "note") == text
        await burst(pilot, "n", " Then the rest.")
        await settle(pilot)
        assert app.screen.query_one("#prompt-text").text == text + " Then the rest."
        await burst(pilot, "ctrl+s")
        await settle(pilot)
        assert text + " Then the rest." in stored_bodies(demo_desk, t.id)
        assert await wait_for_draft(demo_desk, "alice", t.id, "note", None) is None  # saved: the draft is gone


async def test_escape_then_discard_throws_the_draft_away(demo_desk):
    t = ticket_for(demo_desk, "olivia", "reply", kind="complaint")
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(pilot, "r", "Dear customer, we")
        assert await wait_for_draft(demo_desk, "olivia", t.id, "reply", "Dear customer, we") == "Dear customer, we"
        await burst(pilot, "escape", "down", "enter")  # Discard the text
        await settle(pilot)
        assert app.screen.reference == t.reference and len(app.screen_stack) == 2
        assert await wait_for_draft(demo_desk, "olivia", t.id, "reply", None) is None
        await burst(pilot, "r")
        await settle(pilot)
        assert app.screen.query_one("#prompt-text").text == ""


async def test_escape_then_back_to_the_text_keeps_typing(demo_desk):
    t = ticket_for(demo_desk, "alice", "note", kind="complaint", status="investigation")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(pilot, "n", "one", "escape", "escape", " two", "ctrl+s")  # the second escape: back to the text
        await settle(pilot)
        assert "one two" in stored_bodies(demo_desk, t.id)


async def test_a_refusal_shows_inside_the_prompt_and_keeps_the_text(demo_desk):
    from screens.prompts import ExtendPrompt

    t = ticket_for(demo_desk, "olivia", "extend", kind="complaint")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(pilot, "x", "2026-13-45", "enter", "Carrier needs more time", "enter")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, ExtendPrompt)  # still open
        error = str(prompt.query_one("#prompt-error").render())
        assert error.strip() and "text is kept" in error
        assert prompt.query_one("#prompt-reason").value == "Carrier needs more time"
        prompt.query_one("#prompt-date").value = "2026-12-31"
        await burst(pilot, "ctrl+s", "enter")  # save; enter sends the previewed mail
        await settle(pilot)
        assert not isinstance(app.screen, ExtendPrompt)
        assert reload_ticket(demo_desk, t.reference).extensions == t.extensions + 1


async def test_a_concurrent_change_offers_reload_and_keeps_the_text(demo_desk):
    from app.identity import resolve_actor
    from app.workflow import add_note
    from screens.prompts import TextPrompt

    t = ticket_for(demo_desk, "alice", "note", kind="complaint", status="investigation")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        app.screen._timer.pause()  # no change poll: the colleague's change is found only on saving
        await burst(pilot, "n", "My careful note.")
        with demo_desk.session() as s:  # a colleague changes the ticket meanwhile
            add_note(s, resolve_actor(s, "olivia"), t.reference, "olivia was here", now=FROZEN_NOW)
        await burst(pilot, "ctrl+s")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, TextPrompt) and prompt.stale
        assert "ctrl+r reloads the ticket and keeps your text" in screen_text(app)
        assert prompt.query_one("#prompt-text").text == "My careful note."
        await burst(pilot, "ctrl+r", "ctrl+s")  # reload, keep my text; then save it
        await settle(pilot)
        assert not isinstance(app.screen, TextPrompt)
        assert "My careful note." in stored_bodies(demo_desk, t.id)
