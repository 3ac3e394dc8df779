"""Optimistic locking between two agents, and the append-only history."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app import history, tickets
from app.errors import StaleTicket
from app.workflow import add_note, move
from models import Message
from workflow_helpers import CONFIG, at, new_complaint, team, walk


def test_second_agent_is_refused_and_nothing_is_overwritten(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    walk(desk, ref, staff["alice"], "acknowledged")
    with desk.reader() as s:  # both agents open the ticket
        seen = tickets.get(s, ref).version
    with desk.session() as s:  # alice writes first
        move(s, staff["alice"], ref, "investigation", expected_version=seen, now=at(100), config=CONFIG)
    with desk.session() as s, pytest.raises(StaleTicket) as exc:  # bob writes from the stale read
        move(s, staff["bob"], ref, "information_gathering", expected_version=seen, now=at(101), config=CONFIG)
    assert str(exc.value).startswith(f"{ref} was changed by alice at 2026-03-09T09:40:00+00:00")
    assert "nothing overwritten" in str(exc.value)
    with desk.session() as s, pytest.raises(StaleTicket):
        add_note(s, staff["bob"], ref, "my note", expected_version=seen, now=at(102))
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert t.status == "investigation" and t.version == seen + 1 and t.updated_by == "alice"
        assert not s.scalars(select(Message).where(Message.body == "my note")).first()
        assert "bob" not in history.handlers(s, t.id)
    with desk.session() as s:  # after reloading, bob's write goes through
        move(s, staff["bob"], ref, "information_gathering", expected_version=seen + 1, now=at(103), config=CONFIG)


def test_every_service_bumps_the_version(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.reader() as s:
        v = tickets.get(s, ref).version
    with desk.session() as s:
        add_note(s, staff["alice"], ref, "first look", expected_version=v, now=at(1))
    with desk.reader() as s:
        assert tickets.get(s, ref).version == v + 1


def test_history_is_append_only_at_the_database_level(desk):
    ref = new_complaint(desk)
    with desk.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("UPDATE ticket_event SET action = 'x'"))
        conn.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("DELETE FROM ticket_event"))
        conn.rollback()
    with desk.reader() as s:
        assert [e.action for e in history.events(s, tickets.get(s, ref).id)] == ["created"]


def test_workflow_code_never_updates_or_deletes_events():
    """No workflow module touches TicketEvent except through history.record."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "app" / "workflow"
    for path in root.glob("*.py"):
        src = path.read_text()
        assert "delete(TicketEvent" not in src and "update(TicketEvent" not in src, path
        assert "TicketEvent(" not in src, path
