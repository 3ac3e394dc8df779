"""Full-text search (the shared search contract) on both engines: the query language,
what is searched, filters, the CLI, and an index kept in step by intake,
notes, replies and edits in the same transaction; `db upgrade` builds it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.cli.main import main
from app.db import open_desk
from app.errors import InputError
from app.identity import os_login
from app.search import parse, search
from app.workflow import add_note, reply
from mail_helpers import eml, make_maildir
from models import Customer
from pg_fixtures import engine_url  # noqa: F401
from workflow_helpers import CONFIG, add_staff, at, new_complaint


@pytest.fixture
def desk(engine_url):
    d = open_desk(engine_url)
    yield d
    d.dispose()


def found(desk, query: str, **kw):
    with desk.reader() as s:
        return search(s, query, **kw)


def refs(desk, query: str, **kw) -> list[str]:
    return [h.reference for h in found(desk, query, **kw)]


@pytest.fixture
def two(desk):
    a = new_complaint(
        desk,
        name="Maria Tamm",
        email="maria@example.com",
        phone="+372 5555 1234",
        description="My phone kept restarting in Zürich after the eSIM install; ICCID 8937204017001234567.",
    )
    b = new_complaint(
        desk,
        received_at=at(5),
        name="José Müller",
        email="jose@example.org",
        phone="+34 600 000 111",
        description="Error code E-42 appears when the code is scanned, then the phone restarts.",
    )
    return a, b


def test_words_all_match_in_any_order_across_the_ticket(desk, two):
    a, _b = two
    assert refs(desk, "restarting zurich") == [a]
    assert refs(desk, "ZURICH Restarting") == [a]
    assert refs(desk, "maria iccid") == [a]  # customer name + a word of the mail
    assert refs(desk, "maria jose") == []


def test_exact_phrase(desk, two):
    _a, b = two
    assert refs(desk, '"error code"') == [b]
    assert refs(desk, '"code error"') == []
    assert set(refs(desk, "code error")) == {b}


def test_exclude(desk, two):
    a, b = two
    assert set(refs(desk, "phone")) == {a, b}
    assert refs(desk, "phone -zurich") == [b]
    assert refs(desk, 'phone -"error code"') == [a]


def test_prefix_on_the_last_word_only(desk, two):
    a, b = two
    assert set(refs(desk, "restart")) == {a, b}  # restarting, restarts
    assert refs(desk, "zur") == [a]
    assert refs(desk, "zur phone") == []  # only the last word is a prefix
    assert set(refs(desk, "phone restar")) == {a, b}


def test_accents_either_way(desk, two):
    a, b = two
    assert refs(desk, "zurich") == [a]
    assert refs(desk, "Zürich") == [a]
    assert refs(desk, "muller") == [b]
    assert refs(desk, "jose") == [b]
    assert refs(desk, "jôsé müller") == [b]


def test_references_orders_customers_and_identifiers(desk, two):
    a, b = two
    assert refs(desk, a) == [a]
    assert refs(desk, "8937204017001234567") == [a]
    assert refs(desk, "E-42") == [b]
    assert refs(desk, "jose@example.org") == [b]
    assert refs(desk, "600 000 111") == [b]
    assert found(desk, a)[0].matched_in == "reference"


def test_notes_are_found_and_named(desk, two):
    _a, b = two
    alice = add_staff(desk, "alice")
    with desk.session() as s:
        add_note(s, alice, b, "Carrier confirmed a tower outage near Valencia", now=at(20), config=CONFIG)
    hits = found(desk, "valencia outage")
    assert [(h.reference, h.matched_in) for h in hits] == [(b, "note")]
    assert "tower outage near Valencia" in hits[0].snippet


def test_kind_and_status_filters(desk, two):
    a, b = two
    alice = add_staff(desk, "alice")
    from app.workflow import acknowledge

    with desk.session() as s:
        acknowledge(s, alice, a, now=at(30), config=CONFIG)
    assert refs(desk, "phone", status="acknowledged") == [a]
    assert refs(desk, "phone", status="submitted") == [b]
    assert set(refs(desk, "phone", kind="complaint")) == {a, b}
    assert refs(desk, "phone", kind="refund") == []


def test_best_match_first_and_limit(desk, two):
    a, b = two
    c = new_complaint(
        desk,
        received_at=at(9),
        name="Restart Restarting",
        email="restart@example.net",
        description="Restart restart restart.",
    )
    got = refs(desk, "restart")
    assert got[0] == c  # the customer's name and every line say it
    assert set(got) == {a, b, c}
    assert len(refs(desk, "restart", limit=2)) == 2


def test_snippet_is_short_inert_and_around_the_match(desk):
    body = ("x " * 300) + "the \x1b[31m activation \x1b[0mfailed\x07 at the border " + ("y " * 300)
    r = new_complaint(desk, description=body)
    hit = found(desk, "activation border")[0]
    assert hit.reference == r and hit.matched_in == "message"
    assert len(hit.snippet) <= 160
    assert "activation failed at the border" in hit.snippet
    assert "\x1b" not in hit.snippet and "\x07" not in hit.snippet


@pytest.mark.parametrize("query", ['"unclosed phrase', "-only -exclusions", "", '""', '"" phone', "\\", "x" * 600])
def test_malformed_queries_are_one_line_errors(query):
    with pytest.raises(InputError) as e:
        parse(query)
    assert "\n" not in str(e.value)


def test_lenient_parse_for_typing():
    assert parse('"half a phr', lenient=True).include[0].text == "half a phr"
    assert parse("-", lenient=True) is None
    q = parse("maria rest", lenient=True)
    assert [t.prefix for t in q.include] == [False, True]
    assert not parse("maria r").include[-1].prefix  # a single letter is a word, not a prefix
    # so is the last token of a word written with punctuation ("ord-1": the numbers starting with 1)
    assert not parse("ord-1", lenient=True).include[-1].prefix
    assert not parse("e-").include[-1].prefix
    assert parse("ord-12", lenient=True).include[-1].prefix
    assert parse("e-42").include[-1].prefix


def test_a_one_character_last_token_is_a_word_not_a_prefix(desk, two):
    _a, b = two
    assert refs(desk, "e-42") == refs(desk, "appears e-42") == [b]
    assert refs(desk, "e-42 appe") == [b]  # a longer last token is a prefix, as before
    # "E-42": "42" begins with "4", but a one-character last token is a word, not a prefix
    assert refs(desk, "e-4") == refs(desk, "appears e-4") == []


# -- kept in step ---------------------------------------------------------------------------
def test_intake_indexes_new_mail_and_replies(desk, engine_url, tmp_path):
    from app.mail.ingest import ingest_paths

    box = make_maildir(
        tmp_path / "box",
        {
            "1": eml(
                "No data in Tallinn",
                "The eSIM shows no service near the harbour.",
                sender="kadri@example.ee",
                msgid="<m1@x>",
            )
        },
    )
    ingest_paths(desk, [box], now=at(60), config=CONFIG)
    [ref] = refs(desk, "harbour")
    make_maildir(
        tmp_path / "box2",
        {
            "2": eml(
                f"Re: [{ref}] No data in Tallinn",
                "Still nothing, tried a reboot twice.",
                sender="kadri@example.ee",
                msgid="<m2@x>",
                extra="In-Reply-To: <m1@x>\n",
            )
        },
    )
    ingest_paths(desk, [tmp_path / "box2"], now=at(70), config=CONFIG)
    assert refs(desk, "reboot harbour") == [ref]  # both mails, one ticket
    assert refs(desk, "kadri") == [ref]


def test_a_reply_and_a_customer_edit_are_indexed(desk, two):
    a, _b = two
    alice = add_staff(desk, "alice")
    with desk.session() as s:
        reply(s, alice, a, "Please toggle airplane mode and send a screenshot.", now=at(40), config=CONFIG)
    assert [(h.reference, h.matched_in) for h in found(desk, "airplane screenshot")] == [(a, "message")]
    with desk.session() as s:
        c = s.exec(select(Customer).where(Customer.email == "maria@example.com")).one()
        c.name = "Maria Kask"
    assert refs(desk, "kask") == [a]
    # the old name is gone from the customer; it stays only in the mail that greeted her by it
    assert [(h.reference, h.matched_in) for h in found(desk, "tamm")] == [(a, "message")]


def test_a_phrase_is_found_by_its_word_order_also_in_text_added_later(desk, two):
    a, b = two
    alice = add_staff(desk, "alice")
    with desk.session() as s:
        add_note(s, alice, b, "The roaming profile stopped after midnight.", now=at(20), config=CONFIG)
    assert refs(desk, '"profile stopped after"') == [b]
    assert refs(desk, '"stopped profile"') == []
    assert refs(desk, '"phone kept restarting"') == [a]
    assert refs(desk, '"the phone restarts"') == [b]
    assert refs(desk, '"phone restarts" zurich') == []


def test_postgresql_keeps_the_documents_word_pairs_for_phrases(desk, two):
    if desk.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's index only (SQLite's FTS5 index keeps word positions)")
    a, _b = two
    alice = add_staff(desk, "alice")
    with desk.session() as s:
        add_note(s, alice, a, "Profile stopped.", now=at(20), config=CONFIG)
    with desk.reader() as s:
        pairs = s.execute(
            text(
                "SELECT tsvector_to_array(d.pairs) FROM search_doc d JOIN ticket t ON t.id = d.ticket_id"
                " WHERE t.reference = :r"
            ),
            {"r": a},
        ).scalar()
        query = s.execute(text("SELECT search_pairs_query('Error code E-42')")).scalar()
        single = s.execute(text("SELECT search_pairs_query('restarting')")).scalar()
    assert {"phone_kept", "kept_restarting", "profile_stopped"} <= set(pairs)  # the note's pair joined
    assert set(query.split(" & ")) == {"'error_code'", "'code_e'", "'e_42'"}
    assert single is None  # one word: no pair to ask for


def test_index_changes_with_its_transaction(desk, two):
    a, _b = two
    alice = add_staff(desk, "alice")
    with pytest.raises(RuntimeError), desk.session() as s:
        add_note(s, alice, a, "ephemeral word xylophone", now=at(20), config=CONFIG)
        assert [h.reference for h in search(s, "xylophone")] == [a]  # seen inside the transaction
        raise RuntimeError("roll back")
    assert refs(desk, "xylophone") == []


def test_db_upgrade_builds_the_index_for_an_existing_desk(engine_url):
    from app.migrations_runner import upgrade

    d = open_desk(engine_url, migrate=False)
    upgrade(d.engine, "0005")
    with d.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customer (name, email, customer_type, created_at) VALUES ('Old Timer', 'old@example.com', 'end_user', :t)"
            ),
            {"t": at(0)},
        )
        cid = conn.execute(text("SELECT id FROM customer")).scalar()
        conn.execute(
            text(
                "INSERT INTO ticket (reference, kind, status, subject, priority, customer_id, received_at, extensions, version, "
                "created_at, updated_at) VALUES ('CMP-2025-000001', 'complaint', 'submitted', 'Roaming bill', 3, :c, :t, 0, 1, :t, :t)"
            ),
            {"c": cid, "t": at(0)},
        )
        tid = conn.execute(text("SELECT id FROM ticket")).scalar()
        conn.execute(
            text(
                "INSERT INTO message (ticket_id, kind, subject, body, created_at, attempts) "
                "VALUES (:i, 'inbound', 'Roaming bill', 'Charged twice for the Balkans pack', :t, 0)"
            ),
            {"i": tid, "t": at(0)},
        )
    d.dispose()
    assert main(["--db", engine_url, "db", "upgrade"]) == 0
    d = open_desk(engine_url)
    try:
        assert refs(d, "balkans timer") == ["CMP-2025-000001"]
    finally:
        d.dispose()


def test_queue_filter_searches_full_text(desk, two):
    from datetime import UTC, datetime

    from app.queue_query import QueueQuery, count, page

    a, _b = two
    now = datetime(2026, 3, 10, tzinfo=UTC)
    with desk.reader() as s:
        assert [r.reference for r in page(s, QueueQuery(text="kept restar"), now, 0, 10)] == [a]
        assert count(s, QueueQuery(text="phone -zurich"), now) == 1
        assert count(s, QueueQuery(text="example.org"), now) == 1  # the substring match is kept
        assert count(s, QueueQuery(text='"unclosed'), now) == 0
        assert count(s, QueueQuery(text="CMP-2026-00000"), now) == 2


# -- the command ------------------------------------------------------------------------------
@pytest.fixture
def cli(desk, engine_url, capsys):
    add_staff(desk, os_login())

    def run(*argv):
        code = main(["--db", engine_url, *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_cli_prints_json_lines_best_first(cli, two):
    a, b = two
    code, out, err = cli("search", "phone restart")
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["reference"] for r in rows} == {a, b}
    assert set(rows[0]) == {"reference", "kind", "status", "customer", "subject", "snippet", "matched_in"}
    assert all(r["kind"] == "complaint" and r["status"] == "submitted" and r["matched_in"] == "message" for r in rows)
    code, out, _ = cli("search", "zürich", "--kind", "complaint", "--status", "submitted", "--limit", "5")
    assert code == 0 and [json.loads(x)["customer"] for x in out.splitlines()] == ["Maria Tamm"]


def test_cli_no_match_and_malformed(cli, two):
    assert cli("search", "nonexistentword") == (0, "", "")
    code, out, err = cli("search", '"unclosed')
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "quote" in err
    code, out, err = cli("search", "--", "-only")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, out, err = cli("search", "phone", "--limit", "0")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_query_syntax_of_either_engine_is_only_text(desk, two):
    _a, b = two
    for q in ["a:b&c|d!(e)", "NOT", "OR phone", "e-42*", "x'y", "straße", "NEAR(phone restart)", "phone -", "phone \\"]:
        assert isinstance(refs(desk, q), list), q
    assert refs(desk, "(E-42)") == [b]
