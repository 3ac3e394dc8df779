"""One clock rule everywhere (issue 18, point 1): for every ticket of a
5,000-ticket demo desk, at several instants (paused refunds whose deadline
passed while they waited, extended complaints, clocks crossing into at-risk
and breached), the queue row, the detail header, the wall's lists and
figures and the export agree.

The desk is built once per engine for the module (about 4 s on SQLite); on
SQLite the module takes about 10 s of CPU on this 2-CPU machine.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from app import clocks
from app import queue_query as qq
from app.business_calendar import BusinessCalendar
from app.dashboard_data import BREACHED_LIST_LIMIT, NEXT_DEADLINES, snapshot
from app.db import open_desk
from app.demo import build_demo
from app.export import iter_tickets
from app.identity import Actor
from app.ticket_view import load_detail
from conftest import FROZEN_NOW
from models import Ticket
from pg_fixtures import fresh_pg_database, require_pg

CAL = BusinessCalendar("EE", None, "Europe/Tallinn")
TICKETS = 5000
RUNNING = ("on_track", "at_risk", "breached")
INSTANTS = [
    FROZEN_NOW - timedelta(days=2, hours=5),
    FROZEN_NOW,
    FROZEN_NOW + timedelta(hours=13, minutes=30),
    FROZEN_NOW + timedelta(days=3, hours=2),
    FROZEN_NOW + timedelta(days=9),
]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def desk(request, tmp_path_factory):
    """The demo desk on each engine in turn (the at-risk SQL differs between them)."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('clocks') / 'demo.sqlite'}"
        else:
            url = stack.enter_context(fresh_pg_database(require_pg()))
        d = open_desk(url)
        stack.callback(d.dispose)
        with d.session() as s:
            build_demo(s, TICKETS, 7, FROZEN_NOW, CAL, login="olivia")
        yield d


@pytest.fixture(scope="module")
def tickets(desk):
    with desk.reader() as s:
        rows = s.exec(select(Ticket)).all()
        for r in rows:
            s.expunge(r)
    return {t.reference: t for t in rows}


@pytest.fixture(scope="module")
def details(desk, tickets):
    """The detail screen's read model for the paused, the extended and 40 others."""
    special = [r for r, t in tickets.items() if t.status != "closed" and (t.paused_since or t.extensions)]
    rng = random.Random(18)
    chosen = special + rng.sample(sorted(set(tickets) - set(special)), 40)
    actor = Actor(1, "olivia", "Olivia", "supervisor")
    with desk.reader() as s:
        return {r: load_detail(s, r, actor) for r in chosen}


def _governing_line(lines: list[clocks.ClockView], t) -> clocks.ClockView | None:
    clock = clocks.governing_clock(t)[0]
    return next((c for c in lines if c.clock == clock), None)


@pytest.mark.parametrize("now", INSTANTS, ids=lambda n: n.strftime("%d%b-%H%M"))
def test_queue_header_wall_and_export_agree(desk, tickets, details, now):
    with desk.reader() as s:
        exported = {r["reference"]: r["sla_state"] for r in iter_tickets(s, now=now)}
        queue = {r.reference: r for r in qq.page(s, qq.QueueQuery(view="all"), now, 0, TICKETS)}
        views = {
            v: {r.reference for r in qq.page(s, qq.QueueQuery(view=v), now, 0, TICKETS)}
            for v in ("breached", "at_risk")
        }
        counts = {v: qq.count(s, qq.QueueQuery(view=v), now) for v in views}
        wall = snapshot(s, now, CAL)
    assert len(queue) == len(exported) == len(tickets) == TICKETS

    states: dict[str, str] = {}
    for ref, t in tickets.items():
        row = queue[ref].clock(now)
        header = _governing_line(clocks.ticket_clocks(t, now), t)
        want = exported[ref]
        if t.status != "closed" and want in RUNNING:
            states[ref] = want
            assert row.state == want, (ref, "queue", row, want)
            assert header is not None and header.state == want, (ref, "header", header, want)
            assert clocks.words(row) == clocks.words(header), ref
            assert (row.paused is not None) == bool(t.paused_since and t.paused_since < now), ref
        else:  # no running clock: the queue shows none
            assert row.state is None and clocks.words(row) == "—", (ref, row, want)
        if ref in details:
            assert details[ref].clocks(now) == clocks.ticket_clocks(t, now), ref

    by_state = Counter(states.values())
    assert views["breached"] == {r for r, st in states.items() if st == "breached"}
    assert views["at_risk"] == {r for r, st in states.items() if st == "at_risk"}
    assert counts == {"breached": by_state["breached"], "at_risk": by_state["at_risk"]}
    assert (wall.breached_now, wall.at_risk) == (by_state["breached"], by_state["at_risk"])
    assert sum(a.breached for a in wall.agents) == by_state["breached"]

    def ordered(pick) -> list[str]:
        return sorted((r for r, st in states.items() if pick(st)), key=lambda r: (tickets[r].due_at, r))

    assert [d.reference for d in wall.breached] == ordered(lambda st: st == "breached")[:BREACHED_LIST_LIMIT]
    assert [d.reference for d in wall.next_deadlines] == ordered(lambda st: st != "breached")[:NEXT_DEADLINES]
    for d in wall.breached + wall.next_deadlines:
        on_wall, in_queue = d.view(now), queue[d.reference].clock(now)
        assert on_wall.paused == in_queue.paused and on_wall.left == in_queue.left, d.reference
        if on_wall.paused is not None:  # the words a waiting ticket gets are the same everywhere
            assert clocks.short_words(on_wall) == clocks.words(in_queue), d.reference
        else:
            assert clocks.short_words(on_wall).endswith("late") == (in_queue.state == "breached"), d.reference


def test_the_instants_cover_paused_refunds_past_due_and_extended_complaints(tickets):
    """The desk and instants above hold the cases the rule is about."""
    open_ = [t for t in tickets.values() if t.status != "closed"]
    paused_late = [
        (t, now)
        for t in open_
        for now in INSTANTS
        if t.kind == "refund" and t.paused_since and t.due_at and t.paused_since < t.due_at < now
    ]
    assert len(paused_late) >= 20
    t, now = paused_late[0]
    row = clocks.view(t.received_at, t.due_at, now, None, t.paused_since)
    assert row.state != "breached" and clocks.words(row).startswith("paused ")
    assert clocks.short_words(row) == clocks.words(row)  # not "2d late" on the wall
    extended = [t for t in open_ if t.kind == "complaint" and t.extensions and t.due_clock == "resolution"]
    assert len(extended) >= 20
    assert {clocks.view(t.acknowledged_at, t.due_at, now).state for t in extended for now in INSTANTS} >= {
        "on_track",
        "breached",
    }
