"""The queue filter's walk table (migration 0029, app/search_words.py) on
both engines: `filter_walk` stays equal to a rebuild from the documents it
copies through every change (a new ticket, a reply, a note, a change of due
date or state, a customer's new name, a deletion), in the transaction of the
change; a filtered page of All read through it lists exactly the rows, in
the same order, of the filter read from the tickets (the FTS path); and the
words split and fold as the full-text index does."""

from __future__ import annotations

import importlib
import sqlite3

import pytest
from sqlalchemy import text
from sqlmodel import select

from app import queue_filter, queue_walk, search, search_words
from app.db import open_desk
from app.mail.ingest import ingest_paths
from app.queue_query import QueueQuery, page
from app.workflow import add_note
from mail_helpers import eml, make_maildir
from models import Customer, Ticket
from pg_fixtures import engine_url  # noqa: F401
from workflow_helpers import CONFIG, add_staff, at, new_complaint, walk

_0029 = importlib.import_module("app.migrations.versions.0029_filter_walk")
NOW = at(600)


@pytest.fixture
def desk(engine_url):
    d = open_desk(engine_url)
    yield d
    d.dispose()


def _stored(s) -> set[tuple]:
    if s.get_bind().dialect.name == "sqlite":
        return set(s.execute(text("SELECT due_key, ticket_id, doc, words FROM filter_walk")).all())
    return set(s.execute(text("SELECT due_at, ticket_id, doc, words FROM filter_walk")).all())


def _rebuilt(s) -> set[tuple]:
    """The rows made afresh from the tickets and their documents (the upgrade's own fill)."""
    if s.get_bind().dialect.name == "sqlite":
        fill = _0029.sqlite_fill("1 = 1")
        return set(s.execute(text(fill[fill.index("SELECT") : fill.index(" ORDER BY")])).all())
    fill = _0029.PG_FILL[_0029.PG_FILL.index("SELECT") :]
    return {(r[1], r[0], r[2], r[3]) for r in s.execute(text(fill)).all()}


def assert_in_step(desk) -> None:
    with desk.reader() as s:
        stored = _stored(s)
        assert stored == _rebuilt(s)
        assert len(stored) == len(s.exec(select(Ticket.id)).all())


TEXTS = (
    ("Maria Tamm", "maria@example.com", "No data in Tokyo"),
    ("Jose Muller", "jose_m@example.org", "QR code 50% off"),
    ("Björn Ærø", "bjorn@mail.ee", "Straße ØRESUND École tokyō"),
    (None, "kadri@mail.ee", "Refund please, order ORD-1234"),
)
# plain words (the walk's LIKE on the words), and what keeps the ticket path
NEEDLES = (
    "o",
    "to",
    "tok",
    "tokyo",
    "ma",
    "mar",
    "cm",
    "cmp",
    "ord",
    "ord-",
    "12",
    "1234",
    "bj",
    "bjo",
    "ore",
    "ecole",
    "stra",
    "strasse",
    "ae",
    "oresund",
    "kadri",
    "ria@ex",
    "e_m",
    "50%",
    "example",
    "please order",
    "order please",
    "ord-1",
    "cmp-2026",
    '"no data"',
    "tokyo -maria",
    "sent",
    "thanks",
    "zz",
)


def _pages(s, needle: str, monkeypatch, walked: bool) -> list[int]:
    """Ids of two pages of All filtered by `needle` (through the walk table, or not)."""
    real = queue_filter.walk_match
    if not walked:
        monkeypatch.setattr(queue_filter, "walk_match", lambda session, t, **kw: None)
    queue_filter._choices.clear()
    try:
        q = QueueQuery(view="all", text=needle)
        return [r.id for r in page(s, q, NOW, 0, 3)] + [r.id for r in page(s, q, NOW, 3, 50)]
    finally:
        monkeypatch.setattr(queue_filter, "walk_match", real)


def assert_same_pages(desk, monkeypatch) -> None:
    monkeypatch.setattr(queue_filter, "MIN_CAP", 1)  # every text of three characters is walked
    monkeypatch.setattr(queue_filter, "CAP_FACTOR", 0)
    with desk.reader() as s:
        for needle in NEEDLES:
            want = _pages(s, needle, monkeypatch, False)
            assert _pages(s, needle, monkeypatch, True) == want, needle
            with monkeypatch.context() as m:  # PostgreSQL's walk within a budget of one row: read as before
                m.setattr(queue_walk, "WALK_BUDGET", 1)
                m.setattr(queue_walk, "WALK_PER_ROW", 0)
                assert _pages(s, needle, monkeypatch, True) == want, needle


def test_the_walk_table_follows_every_change_and_pages_match_the_ticket_path(desk, monkeypatch):
    refs = [
        new_complaint(desk, received_at=at(i), name=n, email=e, subject=subj) for i, (n, e, subj) in enumerate(TEXTS)
    ]
    assert_in_step(desk)
    assert_same_pages(desk, monkeypatch)
    alice = add_staff(desk, "alice")
    walk(desk, refs[0], alice, "investigation")  # due dates and states change on the way
    walk(desk, refs[2], alice, "closed", start=100)  # closed: no deadline
    with desk.session() as s:
        add_note(s, alice, refs[1], "Customer in Sendai, thanks for the cmpt log", now=at(300))
        s.exec(select(Customer).where(Customer.email == "kadri@mail.ee")).one().name = "Kädri Tõnisson"
    assert_in_step(desk)
    assert_same_pages(desk, monkeypatch)
    with pytest.raises(RuntimeError), desk.session() as s:  # rolled back with its transaction
        add_note(s, alice, refs[3], "zz top", now=at(400))
        raise RuntimeError("roll back")
    assert_in_step(desk)
    with desk.engine.begin() as conn:  # a ticket row made and removed outright (no events of its own)
        conn.execute(
            text(
                "INSERT INTO ticket (reference, kind, status, subject, priority, received_at, due_at, extensions, "
                "version, created_at, updated_at) VALUES ('CMP-2026-000099', 'complaint', 'submitted', 'Gone tokyo', "
                "3, :t, :t, 0, 1, :t, :t)"
            ),
            {"t": at(40)},
        )
    assert_in_step(desk)
    assert_same_pages(desk, monkeypatch)
    with desk.engine.begin() as conn:
        conn.execute(text("DELETE FROM ticket WHERE reference = 'CMP-2026-000099'"))
    assert_in_step(desk)
    assert_same_pages(desk, monkeypatch)


def test_a_page_of_plain_words_is_read_from_the_walk_table(desk, monkeypatch):
    for i, (n, e, subj) in enumerate(TEXTS):
        new_complaint(desk, received_at=at(i), name=n, email=e, subject=subj)
    monkeypatch.setattr(queue_filter, "MIN_CAP", 1)
    monkeypatch.setattr(queue_filter, "CAP_FACTOR", 0)
    with desk.reader() as s:
        for needle in ("o", "to", "tokyo", "ord-", "refund please", "ord-1", "bjö"):
            assert queue_filter.walk_match(s, needle) is not None, needle
        for needle in ("cmp-2026", '"no data"', "tokyo -maria", "zzz"):
            assert queue_filter.walk_match(s, needle) is None, needle
        assert {r.reference for r in page(s, QueueQuery(text="tokyo"), NOW, 0, 10)} == {
            t.reference for t in s.exec(select(Ticket)).all() if "tok" in (t.subject or "").lower()
        }


TRICKY = [
    "Tökyo ÉCOLE straße Ærø bjørn Œuvre ĳssel",
    "e\u0301cole cafe\u0301 ﬁne ½ x²",
    "foo_bar snake_case a-b-c 3.14 1,000 user@mail.example",
    "日本語 テキスト 中文 한국어 🙂 emoji🙂text",
    "ΑΘΗΝΑ Ελλάδα Москва ДЖ Ǆ ǅ ǆ",
    "tab\tnew\nline\u00a0nbsp\u2009thin—dash «quote» ‘single’",
]


def test_words_split_and_fold_as_the_full_text_index_does():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    for i, s in enumerate(TRICKY):
        db.execute("INSERT INTO t(rowid, x) VALUES (?, ?)", (i, s))
    for i, s in enumerate(TRICKY):
        want = {r[0] for r in db.execute("SELECT term FROM v WHERE doc = ?", (i,))}
        assert set(search_words.words(s).split()) == want, s
    assert search_words.words("") == search_words.words(None) == ""
    assert search_words.words("B a b", "c") == " a b c "


@pytest.mark.parametrize(
    ("typed", "want"),
    [
        ("tok", [("tok", True)]),
        ("Tokyo data", [("tokyo", False), ("data", True)]),
        ("ord-", [("ord", True)]),
        ("ord-1", None),  # two words in a row: a phrase (the full-text index tests it)
        ("tökyo", None),  # folded by each engine its own way
        ("a", [("a", False)]),  # one character: a word, not a prefix
    ],
)
def test_plain_terms_are_one_ascii_word_each(typed, want):
    assert search_words.plain_terms(search.parse(typed, lenient=True)) == want


def test_a_tsquery_of_one_lexeme_is_a_word():
    assert search_words.tsquery_word("'tok':*") == ("tok", True)
    assert search_words.tsquery_word("'tokyo'") == ("tokyo", False)
    assert search_words.tsquery_word("'ord' <-> '1':*") is None
    assert search_words.tsquery_word("'50%'") is None


def test_sqlite_reads_a_filtered_page_of_all_from_the_walk_table_alone(desk, monkeypatch):
    """No ticket row, no document read by its key: the walk table in its own order."""
    if desk.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    for i, (n, e, subj) in enumerate(TEXTS):
        new_complaint(desk, received_at=at(i), name=n, email=e, subject=subj)
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, params, context, executemany):
        if "FROM filter_walk" in statement:
            seen.append((statement, params))

    from sqlalchemy import event

    event.listen(desk.engine, "before_cursor_execute", keep)
    try:
        with desk.reader() as s:
            assert len(page(s, QueueQuery(text="to"), NOW, 0, 10)) == 2
    finally:
        event.remove(desk.engine, "before_cursor_execute", keep)
    assert seen
    with desk.engine.connect() as conn:
        for statement, params in seen:
            plan = " | ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
            assert plan.startswith("SEARCH filter_walk USING PRIMARY KEY"), plan
            assert "ticket" not in plan.replace("ticket_id", "") and "TEMP B-TREE" not in plan, plan


def test_intake_groups_keep_the_walk_table_in_step(desk, tmp_path, monkeypatch):
    """Intake builds a group's documents at its commit (migration 0028): the
    walk table gets its rows then too (PostgreSQL: once a ticket, 0030), for
    new tickets, for an older one a reply reaches and for an older one whose
    customer's blank name a later mail fills in (its documents built again at
    that commit), and a filtered page finds them."""
    first = {f"{i}": eml(f"Complaint {i}", f"lantern {i}", sender=f"c{i}@x.ee", msgid=f"<a{i}@x>") for i in range(3)}
    nameless = eml("Complaint n", "lantern n", sender="n@x.ee", msgid="<an@x>")
    first["n"] = nameless.replace(b"Customer <n@x.ee>", b"n@x.ee")
    ingest_paths(desk, [make_maildir(tmp_path / "a", first)], now=at(60), config=CONFIG)
    with desk.reader() as s:
        ref = s.exec(select(Ticket.reference).order_by(Ticket.id)).first()
    later = {"r": eml(f"Re: [{ref}] Complaint 0", "the beacon is still dark", sender="c0@x.ee", msgid="<r@x>")}
    later |= {f"{i}": eml(f"Complaint {i}", f"harbour {i}", sender=f"d{i}@x.ee", msgid=f"<b{i}@x>") for i in range(2)}
    later["n"] = eml("Complaint again", "harbour n", sender="n@x.ee", msgid="<bn@x>")  # named "Customer" now
    ingest_paths(desk, [make_maildir(tmp_path / "b", later)], now=at(61), config=CONFIG)
    assert_in_step(desk)
    with desk.reader() as s:
        named = s.execute(text("SELECT words FROM filter_walk WHERE doc LIKE '%complaint n%'")).scalar()
        assert " customer " in named  # the older ticket's row has its customer's new name
        assert len(_pages(s, "lantern", monkeypatch, walked=True)) == 4
        assert len(_pages(s, "harbour", monkeypatch, walked=True)) == 3
        assert len(_pages(s, "beacon", monkeypatch, walked=True)) == 1
