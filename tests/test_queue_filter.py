"""The queue filter's trigram index (migration 0015, app/queue_filter.py) on
both engines: its documents stay equal to the fields they are made of
through every change (in the same transaction), and the filter finds the
same tickets whichever way a page is read (index set or rows in order), for
text of one, two or more characters."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import select

from app import queue_filter
from app.db import open_desk
from app.queue_query import QueueQuery, count, page
from app.workflow import merge
from models import Customer, Order, Ticket
from pg_fixtures import engine_url  # noqa: F401
from workflow_helpers import CONFIG, add_staff, at, new_complaint

NOW = datetime(2026, 3, 10, tzinfo=UTC)
SEP = queue_filter.SEP


@pytest.fixture
def desk(engine_url):
    d = open_desk(engine_url)
    yield d
    d.dispose()


def _docs(s) -> dict[int, str]:
    if s.get_bind().dialect.name == "sqlite":
        rows = s.execute(text("SELECT rowid, doc FROM search_filter"))
    else:
        rows = s.execute(text("SELECT ticket_id, doc FROM search_filter"))
    return {r[0]: r[1] for r in rows}


def _recount(s) -> dict[int, str]:
    """Each ticket's document made afresh from its rows."""
    out = {}
    for t in s.exec(select(Ticket)).all():
        c = s.get(Customer, t.customer_id) if t.customer_id else None
        o = s.get(Order, t.order_id) if t.order_id else None
        fields = [t.reference, t.subject, c.name if c else None, c.email if c else None, o.number if o else None]
        out[t.id] = SEP.join(f or "" for f in fields)
    return out


def assert_in_step(desk) -> None:
    with desk.reader() as s:
        assert _docs(s) == _recount(s)


def _order(s, number: str, customer_id: int) -> Order:
    o = Order(number=number, customer_id=customer_id, brand="esimgo", purchased_at=at(-60), amount=Decimal("9.90"))
    s.add(o)
    s.flush()
    return o


@pytest.fixture
def three(desk):
    a = new_complaint(desk, name="Maria Tamm", email="maria@example.com", subject="No data in Tokyo")
    b = new_complaint(
        desk, received_at=at(5), name="Jose Muller", email="jose_m@example.org", subject="QR code 50% off"
    )
    c = new_complaint(desk, received_at=at(9), name=None, email="kadri@mail.ee", subject="Refund please")
    return a, b, c


def test_the_index_follows_every_change_in_its_transaction(desk, three):
    a, b, c = three
    assert_in_step(desk)
    with desk.session() as s:  # subject, customer name and email, an order linked and renumbered
        ta = s.exec(select(Ticket).where(Ticket.reference == a)).one()
        ta.subject = "Roaming stopped in Osaka"
        cust = s.get(Customer, ta.customer_id)
        cust.name, cust.email = "Maria Kask", "mkask@example.net"
        tc = s.exec(select(Ticket).where(Ticket.reference == c)).one()
        tc.order_id = _order(s, "ORD-1234567890-ABCD", tc.customer_id).id
    assert_in_step(desk)
    with desk.session() as s:
        s.exec(select(Order)).one().number = "ORD-9999999999-WXYZ"
    assert_in_step(desk)
    with desk.reader() as s:
        assert [r.reference for r in page(s, QueueQuery(text="osaka"), NOW, 0, 10)] == [a]
        assert [r.reference for r in page(s, QueueQuery(text="mkask@"), NOW, 0, 10)] == [a]
        assert [r.reference for r in page(s, QueueQuery(text="999999-WX"), NOW, 0, 10)] == [c]
        assert count(s, QueueQuery(text="tokyo"), NOW) == 0  # the old subject is gone
    with pytest.raises(RuntimeError), desk.session() as s:  # rolled back with its transaction
        s.exec(select(Ticket).where(Ticket.reference == b)).one().subject = "Xylophone"
        s.flush()
        assert count(s, QueueQuery(text="xylophone"), NOW) == 1
        raise RuntimeError("roll back")
    assert_in_step(desk)
    alice = add_staff(desk, "alice")
    d = new_complaint(desk, received_at=at(20), name="Maria Kask", email="mkask@example.net", subject="Same again")
    with desk.session() as s:
        merge(s, alice, d, a, now=at(30), config=CONFIG)
    assert_in_step(desk)
    with desk.reader() as s:
        assert set(_refs(s, QueueQuery(text="same again"))) == {d}
    with desk.engine.begin() as conn:  # a ticket row removed outright (no events of its own)
        conn.execute(
            text(
                "INSERT INTO ticket (reference, kind, status, subject, priority, received_at, extensions, version, "
                "created_at, updated_at) VALUES ('CMP-2026-000099', 'complaint', 'submitted', 'Gone soon', 3, :t, 0, 1, :t, :t)"
            ),
            {"t": at(40)},
        )
    assert_in_step(desk)
    with desk.engine.begin() as conn:
        conn.execute(text("DELETE FROM ticket WHERE reference = 'CMP-2026-000099'"))
    assert_in_step(desk)


def _refs(s, q: QueueQuery) -> list[str]:
    return [r.reference for r in page(s, q, NOW, 0, 100)]


@pytest.mark.parametrize(
    ("needle", "want"),
    [
        ("o", {0, 1}),  # one character: "Tokyo", "jose" (not "Refund please", kadri@mail.ee)
        ("TO", {0}),  # two: "Tokyo" (and no word of the other tickets begins so)
        ("kadri", {2}),
        ("ria@ex", {0}),  # inside an email: only a substring finds it
        ("e_m", {1}),  # "_" and "%" are characters, not wildcards
        ("50%", {1}),
        ("e%m", set()),
        ("example.", {0, 1}),
        ("cmp-2026", {0, 1, 2}),
    ],
)
def test_filter_text_of_any_length_finds_the_same_tickets_either_way(desk, three, monkeypatch, needle, want):
    expected = {three[i] for i in want}
    with desk.reader() as s:
        assert set(_refs(s, QueueQuery(text=needle))) == expected
        assert count(s, QueueQuery(text=needle), NOW) == len(expected)
        orders = _orders_each_way(s, monkeypatch, needle)
        for (mode, sort), got in orders.items():
            assert set(got) == expected, (mode, sort)
        for sort in ("due", "age", "priority"):
            assert orders["set", sort] == orders["walk", sort] == orders["walk, candidates", sort], sort


# (MIN_CAP, CAP_FACTOR, MIN_DENSE): the index's matches sorted; the view walked in order,
# each row's own document tested; walked, the rows among the trigram candidates (SQLite)
WAYS = {"set": (10**9, 0, 10**9), "walk": (1, 0, 1), "walk, candidates": (1, 0, 10**9)}


def _orders_each_way(s, monkeypatch, needle: str) -> dict[tuple[str, str], list[str]]:
    """The references a page of `needle` lists, read each way, in each sort."""
    orders = {}
    for mode, (floor, factor, dense) in WAYS.items():
        monkeypatch.setattr(queue_filter, "MIN_CAP", floor)
        monkeypatch.setattr(queue_filter, "CAP_FACTOR", factor)
        monkeypatch.setattr(queue_filter, "MIN_DENSE", dense)
        for sort in ("due", "age", "priority"):
            q = QueueQuery(text=needle, sort=sort)
            got = _refs(s, q)
            orders[mode, sort] = got
            # pages one row at a time agree with the whole list
            assert [r.reference for i in range(len(got)) for r in page(s, q, NOW, i, 1)] == got
    return orders


@pytest.mark.parametrize(
    ("needle", "want"),
    [
        ("MÜN", {0}),  # as written
        ("mÜnch", {0}),  # ASCII letters in any case
        ("müNCHEN", {0}),  # not a substring (LIKE folds ASCII only), but the word, accents folded
        ("üNCH", "pg"),  # no word begins so; a substring on PostgreSQL alone (ILIKE folds every letter)
        ("k\\sl", {1}),  # a backslash, "%" and "_" are characters, not wildcards
        ("0% o", {1}),
        ("a_b", {1}),
        ("f%a", set()),
        ("kyo-o", set()),  # each trigram somewhere ("kyo", "yo-", "o-o"), never in a row
    ],
)
def test_the_trigram_candidates_hold_every_substring_match(desk, monkeypatch, needle, want):
    """SQLite's walk looks a row up among the documents holding every trigram
    of the text (the index alone, case-folded), then tests the row's own
    document: the same tickets as the LIKE over every document, each way."""
    refs = [
        new_complaint(desk, name="Jürgen Weiß", email="jw@example.de", subject="Roaming in MÜNCHEN"),
        new_complaint(desk, received_at=at(5), email="q@example.org", subject="Say 50% off, a_b and back\\slash"),
        new_complaint(desk, received_at=at(9), email="k@example.org", subject="Tokyo, yo-yo, go-on"),
    ]
    with desk.reader() as s:
        orders = _orders_each_way(s, monkeypatch, needle)
    if want == "pg":
        want = {0} if desk.engine.dialect.name == "postgresql" else set()
    for (mode, sort), got in orders.items():
        assert set(got) == {refs[i] for i in want}, (mode, sort)


@pytest.mark.parametrize("needle", ["", "o", "TO", "example.", "cmp-2026", "cmp-2026-0", "no such text"])
@pytest.mark.parametrize("view", ["all", "unassigned", "at_risk", "out_of_scope"])
def test_a_capped_count_is_exact_up_to_its_cap_and_one_more_past_it(desk, three, needle, view):
    """The console counts at most cap + 1 tickets ("10,000+"): below the cap
    the same number as the full count, past it cap + 1, on either engine."""
    with desk.reader() as s:
        q = QueueQuery(view=view, text=needle)
        whole = count(s, q, NOW)
        assert whole == len(page(s, q, NOW, 0, 100))
        for cap in range(5):
            assert count(s, q, NOW, cap=cap) == min(whole, cap + 1), cap


@pytest.mark.parametrize("needle", ["o", "TO", "kadri", "ria@ex", "e_m", "50%", "example.", "tokyo", "please"])
def test_the_halves_a_capped_count_asks_first_are_the_filter_split_in_two(desk, three, needle):
    """Each half (substring, full text) finds only tickets the filter finds,
    and the two together find them all: so a half over the cap means the
    filter is over it too (queue_query.count asks them first)."""
    with desk.reader() as s:
        halves = queue_filter.halves(s, needle)
        assert halves, needle
        found = [{r[0] for r in s.execute(ids)} for ids in halves]
        want = {r.id for r in page(s, QueueQuery(text=needle), NOW, 0, 100)}
        assert set().union(*found) == want
        for cap in range(3):
            assert count(s, QueueQuery(text=needle), NOW, cap=cap) == min(len(want), cap + 1)
        # a reference prefix and query syntax are no such union: the count reads the filter itself
        assert queue_filter.halves(s, "CMP-2026-0") == queue_filter.halves(s, '"no data"') == []


def _page_plans(desk, q: QueueQuery) -> tuple[list[str], list[str]]:
    """(The references a page of `q` lists, SQLite's plan of each statement
    that read it in due order.)"""
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, params, context, executemany):
        if "ORDER BY ticket.due_at" in statement:
            seen.append((statement, params))

    event.listen(desk.engine, "before_cursor_execute", keep)
    try:
        with desk.reader() as s:
            refs = _refs(s, q)
    finally:
        event.remove(desk.engine, "before_cursor_execute", keep)
    assert seen
    with desk.engine.connect() as conn:
        plans = [
            " | ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
            for statement, params in seen
        ]
    return refs, plans


def test_a_reference_prefix_walks_the_due_index_alone(desk, three, monkeypatch):
    """A reference prefix most tickets share walks the view's due_at index in
    order testing each reference, read from the index itself (migration
    0025: at 1,000,000 tickets the first complaint is 15,800 rows down)."""
    if desk.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan (PostgreSQL plans a desk this small otherwise)")
    monkeypatch.setattr(queue_filter, "MIN_CAP", 1)
    monkeypatch.setattr(queue_filter, "CAP_FACTOR", 0)
    refs, plans = _page_plans(desk, QueueQuery(text="cmp-2026"))
    assert refs == sorted(three)
    for plan in plans:
        assert "COVERING INDEX ix_ticket_due_at" in plan, plan


@pytest.mark.parametrize(("needle", "want"), [("ka", {2}), ("kadri", {2}), ("tokyo", {0}), ("o", {0, 1})])
def test_a_page_walked_in_order_reads_each_rows_document_by_its_key(desk, three, monkeypatch, needle, want):
    """SQLite walking the view tests each row's own document, read from the
    FTS5 table's copy by primary key (not through the virtual table, a third
    dearer a row), and text under three characters too (it read the
    customer and order rows and the ticket's row for its subject)."""
    if desk.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    monkeypatch.setattr(queue_filter, "MIN_CAP", 1)
    monkeypatch.setattr(queue_filter, "CAP_FACTOR", 0)
    monkeypatch.setattr(queue_filter, "MIN_DENSE", 1)
    # (Unassigned: All reads such a page from the filter's walk table, tests/test_filter_walk.py)
    refs, plans = _page_plans(desk, QueueQuery(view="unassigned", text=needle))
    assert set(refs) == {three[i] for i in want}
    for plan in plans:
        assert "SEARCH search_filter_content USING INTEGER PRIMARY KEY" in plan, plan
        assert "customer" not in plan and "esim_order" not in plan, plan
        assert "SCAN search_filter VIRTUAL TABLE" not in plan, plan


def test_short_text_is_matched_without_the_index(desk, three):
    assert not queue_filter.indexed("ab")
    assert queue_filter.indexed("abc")
    assert not queue_filter.indexed("ab" + SEP + "c")  # the separator never matches across fields
    with desk.reader() as s:
        assert count(s, QueueQuery(text="ab" + SEP + "c"), NOW) == 0


def test_postgresql_tests_the_full_text_half_of_the_or_row_by_row(desk, three):
    """A page walks the view in order and tests each row's own document: the
    planner must not turn the EXISTS into a hashed list of every match (at
    1,000,000 tickets 'to' read 186,000 documents first, 0.6-3.4 s)."""
    if desk.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner only")
    from sqlalchemy import or_

    from app import search

    with desk.reader() as s:
        q = search.parse("to", lenient=True)
        assert q is not None
        stmt = select(Ticket.id).where(or_(Ticket.subject.ilike("%to%"), search.row_condition(s, q)))
        sql = str(stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        plan = "\n".join(r[0] for r in s.execute(text("EXPLAIN " + sql)))
        assert "SubPlan" in plan and "hashed SubPlan" not in plan, plan
        assert {r[0] for r in s.execute(stmt)} == {r[0] for r in s.execute(text(sql))}


def test_upgrade_fills_the_index_for_an_existing_desk(engine_url):
    from app.migrations_runner import upgrade

    d = open_desk(engine_url, migrate=False)
    upgrade(d.engine, "0014")
    with d.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customer (name, email, customer_type, created_at) "
                "VALUES ('Old Timer', 'old@example.com', 'end_user', :t)"
            ),
            {"t": at(0)},
        )
        cid = conn.execute(text("SELECT id FROM customer")).scalar()
        conn.execute(
            text(
                "INSERT INTO ticket (reference, kind, status, subject, priority, customer_id, received_at, extensions, "
                "version, created_at, updated_at) VALUES ('CMP-2025-000001', 'complaint', 'submitted', 'Roaming bill', "
                "3, :c, :t, 0, 1, :t, :t)"
            ),
            {"c": cid, "t": at(0)},
        )
    upgrade(d.engine)
    try:
        assert_in_step(d)
        with d.reader() as s:
            assert _refs(s, QueueQuery(text="timer")) == ["CMP-2025-000001"]
            assert _refs(s, QueueQuery(text="ming bi")) == ["CMP-2025-000001"]
    finally:
        d.dispose()


def test_the_next_pages_of_a_filter_reuse_its_capped_count(desk, three, monkeypatch):
    """How a page is read (the candidates' capped count) is chosen once for a
    filter text: the table's read-ahead asks 5-12 pages a move, and each
    counted up to 100,000 candidates again at 1,000,000 tickets."""
    monkeypatch.setattr(queue_filter, "MIN_CAP", 1)
    monkeypatch.setattr(queue_filter, "CAP_FACTOR", 0)
    monkeypatch.setattr(queue_filter, "MIN_DENSE", 1)
    from sqlalchemy import event

    counts: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if "count(" in statement.lower() and "limit" in statement.lower():  # a capped count
            counts.append(statement)

    event.listen(desk.engine, "before_cursor_execute", record)
    try:
        with desk.reader() as s:
            # (Unassigned: PostgreSQL walks All within a budget instead, app/queue_walk.py)
            first = page(s, QueueQuery(view="unassigned", text="example"), NOW, 0, 1)
            made = len(counts)
            second = page(s, QueueQuery(view="unassigned", text="example"), NOW, 1, 1)
            assert made and len(counts) == made  # no count again for the same text
            page(s, QueueQuery(view="unassigned", text="muller"), NOW, 0, 1)
            assert len(counts) > made  # another text is counted for itself
    finally:
        event.remove(desk.engine, "before_cursor_execute", record)
    assert len(first) == len(second) == 1 and first != second  # two tickets match, a page each
