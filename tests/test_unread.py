"""New mail is seen, per person: unread flags on queue rows, a ticket marked
seen when its detail is open, and the "Replied" view (a customer wrote after
the last staff action). Both engines."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from app.db import open_desk
from app.queue_query import QueueQuery, count, page
from app.unread import mark_seen, unread_ids
from app.workflow import add_note, reply
from mail_helpers import eml, make_maildir
from pg_fixtures import engine_url  # noqa: F401
from workflow_helpers import CONFIG, add_staff, at

NOW = datetime(2026, 3, 12, tzinfo=UTC)
_box = itertools.count()


@pytest.fixture
def desk(engine_url):
    d = open_desk(engine_url)
    yield d
    d.dispose()


def mail(desk, tmp_path, subject: str, body: str, minute: int) -> None:
    from app.mail.ingest import ingest_paths

    n = next(_box)
    box = make_maildir(
        tmp_path / f"box{n}",
        {
            "m": eml(
                subject,
                body,
                sender="kadri@example.ee",
                msgid=f"<u{n}@x>",
                date=at(minute).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            )
        },
    )
    ingest_paths(desk, [box], now=at(minute), config=CONFIG)


def _ids(desk, refs: list[str]) -> list[int]:
    from app import tickets

    with desk.reader() as s:
        return [tickets.get(s, r).id for r in refs]


def test_unread_per_person_until_seen_and_again_on_new_mail(desk, tmp_path):
    alice, bob = add_staff(desk, "alice"), add_staff(desk, "bob")
    mail(desk, tmp_path, "No data in Tallinn", "The eSIM shows no service.", 0)
    with desk.reader() as s:
        [row] = page(s, QueueQuery(actor_id=alice.id), NOW, 0, 10)
    assert row.unread  # new mail, never opened
    with desk.session() as s:
        mark_seen(s, alice.id, row.id, at(5))
    with desk.reader() as s:
        assert unread_ids(s, alice.id, [row.id]) == set()
        assert unread_ids(s, bob.id, [row.id]) == {row.id}  # per person
        assert not page(s, QueueQuery(actor_id=alice.id), NOW, 0, 10)[0].unread
    mail(desk, tmp_path, f"Re: [{row.reference}] No data in Tallinn", "Still nothing after a restart.", 10)
    with desk.reader() as s:
        assert unread_ids(s, alice.id, [row.id]) == {row.id}
        assert page(s, QueueQuery(actor_id=alice.id), NOW, 0, 10)[0].unread
    with desk.session() as s:
        mark_seen(s, alice.id, row.id, at(12))
        mark_seen(s, alice.id, row.id, at(13))  # again: no harm
    with desk.reader() as s:
        assert unread_ids(s, alice.id, [row.id]) == set()


def test_replied_view_lists_customer_replies_since_the_last_staff_action(desk, tmp_path):
    alice = add_staff(desk, "alice")
    mail(desk, tmp_path, "My eSIM does not activate", "It says activation failed.", 0)
    mail(desk, tmp_path, "Another problem", "Roaming is off.", 1)
    with desk.reader() as s:
        first, second = (r.reference for r in page(s, QueueQuery(sort="age"), NOW, 0, 10))
    replied = QueueQuery(view="replied")
    with desk.reader() as s:
        assert count(s, replied, NOW) == 0  # new tickets are new, not replies
    with desk.session() as s:
        add_note(s, alice, first, "Asked the carrier.", now=at(20), config=CONFIG)
        add_note(s, alice, second, "Asked the carrier.", now=at(20), config=CONFIG)
    mail(desk, tmp_path, f"Re: [{first}] My eSIM does not activate", "Here is the screenshot.", 30)
    with desk.reader() as s:
        assert [r.reference for r in page(s, replied, NOW, 0, 10)] == [first]
    with desk.session() as s:
        reply(s, alice, first, "Thanks, we are on it.", now=at(40), config=CONFIG)
    with desk.reader() as s:
        assert count(s, replied, NOW) == 0


async def test_opening_a_ticket_in_the_console_marks_it_seen(demo_desk):
    from console_helpers import find_ticket, make_app, open_by_filter

    t = find_ticket(demo_desk, kind="complaint", status="acknowledged")
    app = make_app(demo_desk, "alice")
    with demo_desk.reader() as s:
        assert unread_ids(s, app.actor.id, [t.id]) == {t.id}
    async with app.run_test(size=(160, 50)) as pilot:
        await open_by_filter(pilot, t.reference)
        assert app.screen.reference == t.reference
    with demo_desk.reader() as s:
        assert unread_ids(s, app.actor.id, [t.id]) == set()
        assert unread_ids(s, app.actor.id + 1, [t.id]) == {t.id}
