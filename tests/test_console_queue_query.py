"""The queue's SQL (app/queue_query.py): views, filter, sorts, paging."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlmodel import select

from app import queue_query as qq
from app.clocks import ticket_sla_state
from app.errors import InputError
from conftest import FROZEN_NOW
from models import Customer, Order, Staff, Ticket


@pytest.fixture
def tickets(demo_desk):
    with demo_desk.reader() as s:
        rows = s.exec(select(Ticket)).all()
        for r in rows:
            s.expunge(r)
    return rows


def ids(desk, q, limit=100_000):
    with desk.reader() as s:
        return [r.id for r in qq.page(s, q, FROZEN_NOW, 0, limit)]


@pytest.mark.parametrize("state", ["at_risk", "breached"])
def test_deadline_views_match_the_clock_rules(demo_desk, tickets, state):
    expected = {t.id for t in tickets if t.status != "closed" and t.due_at and ticket_sla_state(t, FROZEN_NOW) == state}
    assert expected, "the frozen demo has tickets in this state"
    got = ids(demo_desk, qq.QueueQuery(view=state))
    assert set(got) == expected
    with demo_desk.reader() as s:
        assert qq.count(s, qq.QueueQuery(view=state), FROZEN_NOW) == len(expected)


def test_simple_views(demo_desk, tickets):
    with demo_desk.reader() as s:
        alice = s.exec(select(Staff).where(Staff.login == "alice")).one()
        s.expunge(alice)
    open_ = [t for t in tickets if t.status != "closed"]
    assert set(ids(demo_desk, qq.QueueQuery(view="my", actor_id=alice.id))) == {
        t.id for t in open_ if alice.id in (t.assignee_id, t.reviewer_id)
    }
    assert set(ids(demo_desk, qq.QueueQuery(view="unassigned"))) == {t.id for t in open_ if t.assignee_id is None}
    assert set(ids(demo_desk, qq.QueueQuery(view="escalations"))) == {t.id for t in open_ if t.kind == "escalation"}
    assert set(ids(demo_desk, qq.QueueQuery(view="refunds"))) == {t.id for t in open_ if t.kind == "refund"}
    assert len(ids(demo_desk, qq.QueueQuery(view="all"))) == len(tickets)
    oos = set(ids(demo_desk, qq.QueueQuery(view="out_of_scope")))
    assert {t.id for t in tickets if t.out_of_scope} <= oos


def test_due_today_uses_the_desk_day(demo_desk, tickets):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Tallinn")
    today = FROZEN_NOW.astimezone(tz).date()
    expected = {t.id for t in tickets if t.status != "closed" and t.due_at and t.due_at.astimezone(tz).date() == today}
    assert set(ids(demo_desk, qq.QueueQuery(view="due_today"))) == expected


def test_sort_by_due_puts_the_earliest_first_and_no_deadline_last(demo_desk):
    with demo_desk.reader() as s:
        rows = qq.page(s, qq.QueueQuery(view="all"), FROZEN_NOW, 0, 1000)
    dues = [r.due_at for r in rows]
    with_due = [d for d in dues if d is not None]
    assert with_due == sorted(with_due)
    first_none = dues.index(None)
    assert all(d is None for d in dues[first_none:])


def test_sort_by_age_and_priority(demo_desk):
    with demo_desk.reader() as s:
        age = qq.page(s, qq.QueueQuery(sort="age"), FROZEN_NOW, 0, 1000)
        prio = qq.page(s, qq.QueueQuery(sort="priority"), FROZEN_NOW, 0, 1000)
    assert [r.received_at for r in age] == sorted(r.received_at for r in age)
    assert [r.priority for r in prio] == sorted(r.priority for r in prio)


def test_pages_tile_the_view_without_gaps_or_repeats(demo_desk):
    q = qq.QueueQuery(view="all")
    with demo_desk.reader() as s:
        whole = [r.id for r in qq.page(s, q, FROZEN_NOW, 0, 10_000)]
        pieces = []
        for off in range(0, len(whole), 37):
            pieces += [r.id for r in qq.page(s, q, FROZEN_NOW, off, 37)]
    assert pieces == whole


def test_filter_matches_reference_customer_subject_and_order(demo_desk, tickets):
    with demo_desk.reader() as s:
        t = next(t for t in tickets if t.order_id and t.customer_id)
        cust = s.get(Customer, t.customer_id)
        order = s.get(Order, t.order_id)
        s.expunge(cust)
        s.expunge(order)
    assert t.id in ids(demo_desk, qq.QueueQuery(text=t.reference.lower()))
    assert ids(demo_desk, qq.QueueQuery(text=t.reference)) == [t.id]
    assert t.id in ids(demo_desk, qq.QueueQuery(text=cust.email.upper()))
    assert t.id in ids(demo_desk, qq.QueueQuery(text=order.number[4:12]))
    assert t.id in ids(demo_desk, qq.QueueQuery(text=order.number))
    word = t.subject.split()[-1]
    assert t.id in ids(demo_desk, qq.QueueQuery(text=word))
    assert ids(demo_desk, qq.QueueQuery(text="no such thing anywhere")) == []


def test_filter_text_is_not_a_pattern(demo_desk):
    # % and _ are literal characters, not LIKE wildcards
    assert ids(demo_desk, qq.QueueQuery(text="%")) == []
    assert ids(demo_desk, qq.QueueQuery(text="_")) == []


def test_hostile_customer_found_by_name(demo_desk):
    assert ids(demo_desk, qq.QueueQuery(text="Mallory"))


def test_bad_view_or_sort_is_one_line(demo_desk):
    with pytest.raises(InputError, match="unknown queue view"):
        qq.QueueQuery(view="nope")
    with pytest.raises(InputError, match="unknown sort"):
        qq.QueueQuery(sort="nope")


def test_queue_query_does_not_import_textual():
    code = "import app.queue_query, sys; assert not any(m == 'textual' or m.startswith('textual.') or m == 'rich' for m in sys.modules), 'textual imported'"
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parent.parent)
    )
