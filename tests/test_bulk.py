"""Bulk actions and the new-mail watch below the console (app/bulk.py,
app/unread.MailWatch), on both engines: each tagged ticket goes through its
own service and transaction with the version seen when tagged; refusals
(policy, role, a colleague's change) are results, and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app import bulk, tickets
from app.db import open_desk
from app.queue_query import QueueQuery
from app.unread import MailWatch
from app.workflow import add_note, assign, customer_replied
from models import Message
from pg_fixtures import engine_url  # noqa: F401
from workflow_helpers import CONFIG, at, new_complaint, team, walk

NOW = datetime(2026, 3, 12, tzinfo=UTC)


@pytest.fixture
def desk(engine_url):
    d = open_desk(engine_url)
    yield d
    d.dispose()


def target(desk, ref: str) -> bulk.Target:
    with desk.reader() as s:
        t = tickets.get(s, ref)
        return bulk.Target(t.id, t.reference, t.version)


def state(desk, ref: str):
    with desk.reader() as s:
        t = tickets.get(s, ref)
        return t.status, t.close_reason, t.assignee_id


def test_bulk_close_each_through_the_service_with_its_own_result(desk):
    staff = team(desk)
    told, early, moved = (new_complaint(desk, received_at=at(i), email=f"c{i}@example.com") for i in range(3))
    walk(desk, told, staff["alice"], "resolution_communicated")
    walk(desk, moved, staff["alice"], "resolution_communicated", start=100)
    targets = [target(desk, r) for r in (told, early, moved)]
    with desk.session() as s:  # a colleague writes on one after it was tagged
        add_note(s, staff["bob"], moved, "Customer called back.", now=at(200), config=CONFIG)
    seen = []
    results = bulk.run(
        desk, staff["alice"], targets, "close", "accepted", now=lambda: at(300), config=CONFIG, progress=seen.append
    )
    assert [(r.reference, r.done) for r in results] == [(told, True), (early, False), (moved, False)]
    assert seen == [1, 2, 3]
    assert (
        results[1].text == "(complaint) is submitted: cannot close as accepted; allowed: withdrawn"
    )  # the policy's own words
    assert not results[1].text.startswith(early)  # the result line names the ticket already
    assert results[2].text == "changed by bob since you tagged it; left as it is"
    assert state(desk, told)[:2] == ("closed", "accepted")
    assert state(desk, early)[0] == "submitted" and state(desk, moved)[0] == "resolution_communicated"
    assert bulk.summary("close", results) == "1 of 3 closed · 2 refused"


def test_bulk_assign_roles_are_the_services(desk):
    staff = team(desk)
    free, taken = new_complaint(desk, received_at=at(0)), new_complaint(desk, received_at=at(1), email="x@example.com")
    with desk.session() as s:
        assign(s, staff["bob"], taken, "bob", now=at(2), config=CONFIG)
    targets = [target(desk, free), target(desk, taken)]
    results = bulk.run(desk, staff["alice"], targets, "assign", "alice", now=lambda: at(5), config=CONFIG)
    assert [r.done for r in results] == [True, False]
    assert results[0].text == "assigned to alice"
    assert state(desk, free)[2] == staff["alice"].id and state(desk, taken)[2] == staff["bob"].id
    # a supervisor may reassign: the same call succeeds for both
    targets = [target(desk, free), target(desk, taken)]
    results = bulk.run(desk, staff["olivia"], targets, "assign", "sam", now=lambda: at(6), config=CONFIG)
    assert [r.done for r in results] == [True, True]
    assert bulk.summary("assign", results) == "2 of 2 assigned"


def test_bulk_note_and_triage(desk):
    staff = team(desk)
    a, b = new_complaint(desk, received_at=at(0)), new_complaint(desk, received_at=at(1), email="y@example.com")
    walk(desk, b, staff["alice"], "investigation")
    results = bulk.run(
        desk,
        staff["alice"],
        [target(desk, a), target(desk, b)],
        "note",
        "Carrier outage.",
        now=lambda: at(50),
        config=CONFIG,
    )
    assert all(r.done for r in results)
    results = bulk.run(
        desk,
        staff["olivia"],
        [target(desk, a), target(desk, b)],
        "triage",
        "hardware",
        now=lambda: at(60),
        config=CONFIG,
    )
    assert [r.done for r in results] == [True, False]  # only a complaint still submitted may be triaged
    assert state(desk, a)[:2] == ("closed", "out_of_scope") and state(desk, b)[0] == "investigation"


def test_matching_takes_the_view_in_its_order_up_to_a_limit(desk):
    refs = [new_complaint(desk, received_at=at(i), email=f"m{i}@example.com") for i in range(5)]
    targets, total = bulk.matching(desk, QueueQuery(view="all", sort="age"), NOW, limit=3)
    assert total == 5 and [t.reference for t in targets] == refs[:3]
    targets, total = bulk.matching(desk, QueueQuery(view="all", sort="age", text=refs[4]), NOW)
    assert total == 1 and [t.reference for t in targets] == [refs[4]]


def test_mail_watch_reports_new_mail_on_my_tickets_only(desk):
    staff = team(desk)
    mine, theirs, old = (new_complaint(desk, received_at=at(i), email=f"w{i}@example.com") for i in range(3))
    with desk.session() as s:
        assign(s, staff["alice"], mine, "alice", now=at(5), config=CONFIG)
        assign(s, staff["bob"], theirs, "bob", now=at(5), config=CONFIG)
        assign(s, staff["alice"], old, "alice", now=at(5), config=CONFIG)
        customer_replied(s, old, message=Message(from_addr="w2@example.com", body="before"), now=at(6), config=CONFIG)
    watch = MailWatch(staff["alice"].id)
    with desk.reader() as s:
        assert watch.check(s) == []  # the first look only notes where the mail stands
    with desk.session() as s:
        for ref in (theirs, mine, mine):
            customer_replied(
                s, ref, message=Message(from_addr="w@example.com", body="any news?"), now=at(10), config=CONFIG
            )
    with desk.reader() as s:
        assert watch.check(s) == [mine]  # once, however many messages
        assert watch.check(s) == []
