"""The search document of a ticket made from an email (migration 0021): the
description is the message's text, held once; the message's insert leaves the
document as the ticket's insert wrote it, which equals a full rebuild; a
later message adds its words, on both engines."""

from __future__ import annotations

from sqlalchemy import text

from app.db import open_desk
from app.mail.ingest import ingest_paths
from app.search import search
from mail_helpers import add_order, eml, make_maildir
from pg_fixtures import engine_url  # noqa: F401
from workflow_helpers import CONFIG, at


def _doc(desk, ticket_id: int) -> tuple[object, int]:
    """(the stored document, how often 'harbour' occurs in it)."""
    with desk.reader() as s:
        if s.get_bind().dialect.name == "sqlite":
            row = s.execute(
                text("SELECT refs, subject, customer, messages, notes FROM search_fts WHERE rowid = :i"),
                {"i": ticket_id},
            ).one()
            return tuple(row), row.messages.count("harbour")
        doc = s.execute(text("SELECT doc::text FROM search_doc WHERE ticket_id = :i"), {"i": ticket_id}).scalar_one()
        positions = s.execute(
            text(
                "SELECT cardinality(positions) FROM unnest((SELECT doc FROM search_doc WHERE ticket_id = :i)) "
                "WHERE lexeme = 'harbour'"
            ),
            {"i": ticket_id},
        ).scalar_one()
        return doc, positions


def _rebuilt(desk, ticket_id: int) -> None:
    """Rebuild the ticket's document through its triggers (an update of its subject)."""
    with desk.session() as s:
        s.execute(text("UPDATE ticket SET subject = subject || '' WHERE id = :i"), {"i": ticket_id})


def _refs(desk, query: str) -> list[str]:
    with desk.reader() as s:
        return [h.reference for h in search(s, query)]


def test_an_emailed_ticket_holds_its_text_once_and_equals_a_rebuild(engine_url, tmp_path):
    desk = open_desk(engine_url)
    try:
        body = "The eSIM shows no service near the harbour."
        box = make_maildir(
            tmp_path / "a", {"1": eml("No data in Tallinn", body, sender="kadri@example.ee", msgid="<m1@x>")}
        )
        ingest_paths(desk, [box], now=at(60), config=CONFIG)
        [ref] = _refs(desk, "harbour")
        with desk.reader() as s:
            tid = s.execute(text("SELECT id FROM ticket WHERE reference = :r"), {"r": ref}).scalar_one()
        kept, times = _doc(desk, tid)
        assert times == 1  # the description and its message: one text
        _rebuilt(desk, tid)
        assert _doc(desk, tid) == (kept, 1)  # kept in step == a full rebuild

        # the same text again (a second delivery under another Message-ID) adds nothing;
        # a different reply adds its words; both still a rebuild's document
        box2 = make_maildir(
            tmp_path / "b",
            {
                "2": eml(
                    f"Re: [{ref}] No data",
                    body,
                    sender="kadri@example.ee",
                    msgid="<m2@x>",
                    extra="In-Reply-To: <m1@x>\n",
                ),
                "3": eml(
                    f"Re: [{ref}] No data",
                    "Still nothing after a reboot.",
                    sender="kadri@example.ee",
                    msgid="<m3@x>",
                    extra="In-Reply-To: <m1@x>\n",
                ),
            },
        )
        summary = ingest_paths(desk, [box2], now=at(70), config=CONFIG)
        assert summary.count("linked") == 2
        assert _refs(desk, "reboot harbour") == [ref]
        kept, times = _doc(desk, tid)
        assert times == 1
        _rebuilt(desk, tid)
        assert _doc(desk, tid) == (kept, 1)
    finally:
        desk.dispose()


def _documents(desk) -> dict[int, tuple]:
    """Every ticket's search and filter documents as stored."""
    with desk.reader() as s:
        if s.get_bind().dialect.name == "sqlite":
            fts = "SELECT rowid, refs, subject, customer, messages, notes FROM search_fts"
            flt = "SELECT rowid, doc FROM search_filter"
        else:
            fts = "SELECT ticket_id, doc::text, pairs::text FROM search_doc"
            flt = "SELECT ticket_id, doc FROM search_filter"
        docs = {row[0]: tuple(row[1:]) for row in s.execute(text(fts))}
        filters = {row[0]: row[1] for row in s.execute(text(flt))}
    return {tid: (doc, filters.get(tid)) for tid, doc in docs.items()} | {
        tid: (None, f) for tid, f in filters.items() if tid not in docs
    }


def test_a_batch_of_new_tickets_is_indexed_as_a_full_rebuild_would(engine_url, tmp_path):
    """Intake's groups (on PostgreSQL built at each commit, migration 0023):
    complaints, a refund with its acknowledgement, a stranger's reply (a new
    ticket, and a note on the quoted one), a customer whose name arrives
    with a second message, and a reply joining its ticket; every document
    equals the one a rebuild of every ticket writes, and each ticket is found."""
    desk = open_desk(engine_url)
    try:
        add_order(desk)
        first = make_maildir(
            tmp_path / "a",
            {"1": eml("No data in Tallinn", "The eSIM shows no service near the harbour.", msgid="<a1@x>")},
        )
        ingest_paths(desk, [first], now=at(60), config=CONFIG)
        [old] = _refs(desk, "harbour")
        files = {
            f"{i}": eml(
                f"Complaint {i}",
                f"Roaming failed in Riga, case {i} lighthouse.",
                sender=f"c{i}@x.ee",
                msgid=f"<b{i}@x>",
            )
            for i in range(6)
        }
        files["r"] = eml("Refund Request ORD-1234567890-ABCD", "Please refund, the QR never worked.", msgid="<r@x>")
        files["s"] = eml(
            f"Re: [{old}] No data", "A stranger writes about the pier.", sender="other@x.ee", msgid="<s@x>"
        )
        files["j"] = eml(
            f"Re: [{old}] No data", "Still nothing at the ferry.", msgid="<j@x>", extra="In-Reply-To: <a1@x>\n"
        )
        # a sender first without a usable name, then with one: the customer's name is filled in
        # while the first ticket waits for its documents
        files["n1"] = eml("Complaint", "No signal at the quay.", sender="n@x.ee", msgid="<n1@x>").replace(
            b"From: Customer <", b"From: Customer 7 <"
        )
        files["n2"] = eml("Question about my plan", "Still no signal at the quay.", sender="n@x.ee", msgid="<n2@x>")
        summary = ingest_paths(desk, [make_maildir(tmp_path / "b", files)], now=at(70), config=CONFIG)
        assert summary.count("created") == 10 and summary.count("linked") == 1
        kept = _documents(desk)
        with desk.session() as s:  # every ticket's documents again, through the row triggers
            s.execute(text("UPDATE ticket SET subject = subject || ''"))
        assert _documents(desk) == kept
        assert len(kept) == 11 and all(doc is not None and f is not None for doc, f in kept.values())
        assert len(_refs(desk, "lighthouse")) == 6
        assert len(_refs(desk, "pier")) == 1 and old not in _refs(desk, "pier")  # the stranger's own new ticket
        assert _refs(desk, "ferry") == [old]
        assert len(_refs(desk, "QR")) == 1
        assert len(_refs(desk, "quay customer")) == 2  # both of the named customer's tickets
    finally:
        desk.dispose()


_FAILING_BUILD = {
    # the document of a ticket whose subject is 'boom' cannot be built
    # SQLite (0028): row by row, its insert's trigger fails; in a deferring group, the build at
    # commit fails (as it empties the noted ids)
    "sqlite": [
        "CREATE TRIGGER boom AFTER INSERT ON ticket WHEN NEW.subject = 'boom' "
        "AND NOT EXISTS (SELECT 1 FROM search_pending WHERE ticket_id = 0) BEGIN SELECT RAISE(ABORT, 'boom'); END",
        "CREATE TRIGGER boom_noted BEFORE DELETE ON search_pending "
        "WHEN EXISTS (SELECT 1 FROM ticket WHERE id = OLD.ticket_id AND subject = 'boom') "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END",
    ],
    "postgresql": [
        "ALTER FUNCTION search_filter_reindex(integer[]) RENAME TO search_filter_reindex_real",
        """CREATE FUNCTION search_filter_reindex(tids integer[]) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM ticket WHERE id = ANY(tids) AND subject = 'boom') THEN
            RAISE EXCEPTION 'boom';
          END IF;
          PERFORM search_filter_reindex_real(tids);
        END $$""",
    ],
}


def test_a_message_whose_document_cannot_be_built_is_held_and_the_rest_of_its_group_stored(engine_url, tmp_path):
    """The documents are built at the group's commit: a failure there loses
    the group, which runs again a message at a time without deferring, so
    only the message at fault is quarantined, where its insert fails at once."""
    desk = open_desk(engine_url)
    try:
        with desk.session() as s:
            for statement in _FAILING_BUILD[s.get_bind().dialect.name]:
                s.execute(text(statement))
        files = {
            f"{i}": eml(f"Complaint {i}", f"Roaming failed, case {i} anchor.", msgid=f"<c{i}@x>") for i in range(5)
        }
        files["2"] = eml("boom", "This one cannot be indexed at all.", msgid="<boom@x>")
        summary = ingest_paths(desk, [make_maildir(tmp_path / "m", files)], now=at(60), config=CONFIG)
        assert summary.count("created") == 4 and summary.count("quarantined") == 1
        [held] = [i for i in summary.items if i.result == "quarantined"]
        assert held.message_id == "<boom@x>" and held.reason
        assert len(_refs(desk, "anchor")) == 4
        again = ingest_paths(desk, [make_maildir(tmp_path / "m", files)], now=at(61), config=CONFIG)
        assert again.count("duplicate") == 5  # exactly once: nothing stored twice, nothing lost
    finally:
        desk.dispose()
