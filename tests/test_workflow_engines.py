"""The workflow's rules on both engines (SQLite, and PostgreSQL when a test
server is available): a full walk, an impartiality refusal that survives the
exception, a stale write, and the append-only history."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app import history, tickets
from app.db import open_desk
from app.errors import AccessDenied, IllegalTransition, StaleTicket
from app.export import iter_tickets
from app.workflow import add_note, create_escalation, final_response, move
from pg_fixtures import engine_url  # noqa: F401  (fixture)
from workflow_helpers import CONFIG, at, new_complaint, take, team, walk


@pytest.fixture
def edesk(engine_url):
    d = open_desk(engine_url)
    yield d
    d.dispose()


def test_full_walk_with_impartiality_on_each_engine(edesk):
    desk = edesk
    staff = team(desk)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "investigation")
    with desk.session() as s:
        add_note(s, staff["sam"], ref, "one look", now=at(m))
    m = walk(desk, ref, staff["alice"], "resolution_communicated", start=m + 10)
    with desk.session() as s:
        esc_ref = create_escalation(s, ref, received_at=at(m), reason="unhappy", config=CONFIG).escalation.reference
    with pytest.raises(AccessDenied):
        take(desk, esc_ref, staff["sam"], m + 1)
    with desk.reader() as s:
        assert [e.action for e in history.events(s, tickets.get(s, esc_ref).id)][-1] == "refused"
        v = tickets.get(s, esc_ref).version
    take(desk, esc_ref, staff["sara"], m + 2)
    with desk.session() as s, pytest.raises(StaleTicket, match="changed by sara"):
        final_response(s, staff["sara"], esc_ref, "x", expected_version=v, now=at(m + 3), config=CONFIG)
    with desk.session() as s:
        final_response(s, staff["sara"], esc_ref, "final", now=at(m + 4), config=CONFIG)
    with desk.reader() as s:
        rows = {r["reference"]: r for r in iter_tickets(s, now=at(m + 5))}
    assert rows[ref]["status"] == "closed" and rows[esc_ref]["reviewer"] == "sara"
    assert "sara" not in rows[ref]["handlers"] and "sam" in rows[ref]["handlers"]
    with desk.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("UPDATE ticket_event SET actor = 'x'"))
        conn.rollback()
    with desk.session() as s, pytest.raises(IllegalTransition):
        move(s, staff["alice"], ref, "investigation", now=at(m + 6), config=CONFIG)


def test_two_seniors_race_for_one_review_exactly_one_wins(edesk):
    import threading

    from app.errors import IllegalTransition

    desk = edesk
    staff = team(desk)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "escalated")
    with desk.reader() as s:
        from sqlalchemy import select

        from models import Ticket

        esc_ref = s.scalars(select(Ticket.reference).where(Ticket.kind == "escalation")).one()
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def attempt(login):
        barrier.wait()
        try:
            take(desk, esc_ref, staff[login], m + 1)
            results[login] = "won"
        except IllegalTransition as exc:
            results[login] = str(exc)

    threads = [threading.Thread(target=attempt, args=(x,)) for x in ("sam", "sara")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert sorted(v == "won" for v in results.values()) == [False, True]
    winner = next(k for k, v in results.items() if v == "won")
    loser_msg = next(v for v in results.values() if v != "won")
    assert f"already reviewed by {winner}" in loser_msg
    with desk.reader() as s:
        evs = [e.action for e in history.events(s, tickets.get(s, esc_ref).id)]
    assert evs.count("review_taken") == 1
