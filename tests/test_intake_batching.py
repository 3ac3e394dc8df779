"""Intake in groups (app.mail.ingest, app.grouped_writes), on each engine: a
batch whose messages depend on each other (a new ticket and a reply to it, two
messages from one new customer, a duplicate, a machine's reply, a stranger
quoting a reference) ends exactly as the same messages taken one at a time;
so does a batch where one message fails half-way through its routing (its
group is rolled back and replayed, each message in a savepoint)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

import app.mail.ingest as ingest
import app.mail.routing as routing
from app import history
from app.db import open_desk
from app.mail import fresh_stats
from app.mail.ingest import ingest_paths
from mail_helpers import CONFIG, NOW, add_order, eml, make_maildir
from pg_fixtures import engine_url, fresh_pg_database, pg_url  # noqa: F401  (fixture)

ORDER = "ORD-1234567890-ABCD"


def _batch() -> dict[str, bytes]:
    """Messages, in delivery order, each depending on an earlier one of the batch."""
    m = {
        "01": eml("Complaint Regarding eSIM Service", sender="ann@example.com", msgid="<m1@example.com>"),
        "02": eml(
            "Re: Complaint Regarding eSIM Service",
            "Any news? It still does not work.",
            sender="ann@example.com",
            msgid="<m2@example.com>",
            extra="In-Reply-To: <m1@example.com>\n",
        ),
        "03": eml("Refund Request", "Please refund my eSIM.", sender="bob@example.com", msgid="<m3@example.com>"),
        "04": eml(f"Refund Request {ORDER}", "Refund please.", sender="bob@example.com", msgid="<m4@example.com>"),
        "06": eml(
            "Re: [CMP-2026-000001] We received your complaint",
            "I have the same problem, says a stranger.",
            sender="carl@example.com",
            msgid="<m6@example.com>",
        ),
        "07": eml(
            "Automatic reply: out of office",
            "I am away until Monday.",
            sender="ann@example.com",
            msgid="<m7@example.com>",
            extra="In-Reply-To: <m1@example.com>\nAuto-Submitted: auto-replied\n",
        ),
        "08": b"Subject: who sent this?\nMessage-ID: <m8@example.com>\n\nNo From header at all.\n",
        "09": eml(
            "Re: Refund Request",
            f"My order number is {ORDER}.",
            sender="bob@example.com",
            msgid="<m9@example.com>",
            extra="In-Reply-To: <m3@example.com>\n",
        ),
        "10": eml("Question about data plans", "How much data do I get?", sender="dora@example.com"),
        "11": eml("Complaint Regarding eSIM Service", "boom: fails half-way.", sender="eve@example.com"),
        "12": eml("Where is my QR code?", "I paid but got no QR code.", sender="eve@example.com"),
    }
    m["05"] = m["01"]  # the same message delivered twice, inside the batch
    return dict(sorted(m.items()))


@contextmanager
def _second_desk(url: str, tmp_path: Path) -> Iterator[str]:
    """An empty desk on the same engine as `url`."""
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'one_at_a_time.sqlite'}"
    else:
        with fresh_pg_database() as other:
            yield other


def _state(desk) -> dict[str, list]:
    """Everything intake wrote, without the row ids (a replayed group may skip
    sequence numbers on PostgreSQL) and without instants."""
    queries = {
        "tickets": "SELECT t.reference, t.kind, t.status, c.email, t.info_needed, t.order_number, t.version, "
        "t.acknowledged_at IS NOT NULL, t.mail_flag, p.reference FROM ticket t "
        "LEFT JOIN customer c ON c.id = t.customer_id LEFT JOIN ticket p ON p.id = t.previous_id ORDER BY t.reference",
        "messages": "SELECT t.reference, m.kind, m.message_id, m.subject, m.template, m.automatic, m.to_addr, "
        "m.in_reply_to FROM message m JOIN ticket t ON t.id = m.ticket_id ORDER BY t.reference, m.id",
        "events": "SELECT t.reference, e.action, e.from_status, e.to_status, e.actor FROM ticket_event e "
        "JOIN ticket t ON t.id = e.ticket_id ORDER BY t.reference, e.id",
        "customers": "SELECT email, name, phone, language FROM customer ORDER BY email",
        "cases": "SELECT t.reference, r.policy FROM refund_case r JOIN ticket t ON t.id = r.ticket_id "
        "ORDER BY t.reference",
        "quarantine": "SELECT message_id, reason, state FROM quarantine ORDER BY dedupe_key",
        "counters": "SELECT prefix, year, last FROM reference_counter ORDER BY prefix",
    }
    with desk.reader() as s:
        return {name: [tuple(r) for r in s.execute(text(sql))] for name, sql in queries.items()}


def _run_both(url: str, tmp_path: Path) -> tuple[list, dict, list, dict]:
    md = make_maildir(tmp_path / "Maildir", {f"{k}.eml": v for k, v in _batch().items()})
    files = sorted((md / "new").iterdir())
    results = []
    with _second_desk(url, tmp_path) as other:
        for u, groups in ((url, [[md]]), (other, [[f] for f in files])):
            desk = open_desk(u)
            try:
                add_order(desk)
                items = [i for g in groups for i in ingest_paths(desk, g, now=NOW, config=CONFIG).items]
                results.append(([(i.message_id, i.result, i.ticket, i.reason) for i in items], _state(desk)))
            finally:
                desk.dispose()
    (batch_items, batch), (single_items, single) = results
    return batch_items, batch, single_items, single


def test_a_batch_of_dependent_messages_ends_as_one_at_a_time(engine_url, tmp_path):
    batch_items, batch, single_items, single = _run_both(engine_url, tmp_path)
    assert batch_items == single_items
    assert batch == single
    results = [r for _mid, r, _t, _why in batch_items]
    assert results.count("duplicate") == 1 and results.count("quarantined") == 1
    assert ("<m2@example.com>", "linked", "CMP-2026-000001", None) in batch_items  # the reply found its new ticket
    assert ("<m7@example.com>", "linked", "CMP-2026-000001", None) in batch_items  # the auto-reply too
    bob = [r for r in batch["tickets"] if r[3] == "bob@example.com"]
    assert len(bob) == 2 and [e for e, *_ in batch["customers"]].count("bob@example.com") == 1  # one new customer
    assert ("CMP-2026-000001", "note", None, None, None) not in batch["events"]  # only the stranger's quote notes it
    assert any(r[0] == "CMP-2026-000001" and r[1] == "note" for r in batch["messages"])


def _fail_on_boom(session, how: str) -> None:
    if how == "raises":
        raise RuntimeError("boom")
    # "refused": an event for no ticket, which the foreign key refuses (the
    # database's error, not the program's)
    history.record(session, 10**9, None, "note", NOW)


@pytest.mark.parametrize(("how", "reason"), [("raises", "boom"), ("refused", "integrity error")])
def test_a_message_failing_half_way_replays_its_group_and_ends_as_one_at_a_time(
    engine_url, tmp_path, monkeypatch, how, reason
):
    real = routing.store_inbound

    def fails_on_boom(session, ticket_id, message_id, parsed, now):
        real(session, ticket_id, message_id, parsed, now)  # after its ticket and message are written
        if "boom" in parsed.body:
            _fail_on_boom(session, how)

    monkeypatch.setattr(routing, "store_inbound", fails_on_boom)
    batch_items, batch, single_items, single = _run_both(engine_url, tmp_path)
    assert batch_items == single_items
    assert batch == single
    failed = [i for i in batch_items if i[3] and reason in i[3]]
    assert len(failed) == 1 and failed[0][1] == "quarantined"
    assert batch_items[-1][1] == "created"  # the message after it, and those before, are stored
    assert len(batch["quarantine"]) == 2


def test_a_desk_grown_from_empty_is_analyzed_once_the_batch_has_grown_it(pg_url, tmp_path, monkeypatch):
    """PostgreSQL plans a new desk's ticket table as empty; intake analyzes the
    tables it writes once it has committed GROWN messages (app.mail.fresh_stats)."""
    monkeypatch.setattr(fresh_stats, "GROWN", 4)
    monkeypatch.setattr(ingest, "GROUP_MESSAGES", 2)
    md = make_maildir(tmp_path / "Maildir", {f"{k}.eml": v for k, v in _batch().items()})
    desk = open_desk(pg_url)
    try:
        with desk.reader() as s:
            before = s.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'ticket'")).scalar()
        ingest_paths(desk, [md], now=NOW, config=CONFIG)
        with desk.reader() as s:
            after = s.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'ticket'")).scalar()
            analyzed = s.execute(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'message'")
            ).scalar()
            walk = s.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'filter_walk'")).scalar()
    finally:
        desk.dispose()
    assert before <= 0 < after and analyzed is not None  # planned with the rows it had then
    # the queue filter's walk table too: its due-change update (a trigger of every
    # refund's acknowledgment) read it whole on a new desk (0.78 ms a refund at 10,000 tickets)
    assert walk > 0


def test_a_new_desk_is_read_by_index_until_it_is_analyzed(pg_url, tmp_path, monkeypatch):
    """Before the fresh-desk ANALYZE, the plans intake's transactions make (its
    statements, the foreign-key checks) read tables by index: planned by the
    empty desk's statistics, they read `ticket` whole, some ten times a message
    (10,065 scans, 4.8 million rows in the first 1,000 messages of the bench)."""
    monkeypatch.setattr(fresh_stats, "GROWN", 6)
    monkeypatch.setattr(ingest, "GROUP_MESSAGES", 2)
    plans: list[str] = []
    real = routing.store_inbound

    def explained(session, ticket_id, message_id, parsed, now):
        real(session, ticket_id, message_id, parsed, now)
        sql = f"EXPLAIN SELECT 1 FROM ticket WHERE id = {int(ticket_id)}"
        plans.append(" ".join(r[0] for r in session.connection().exec_driver_sql(sql)))

    monkeypatch.setattr(routing, "store_inbound", explained)
    md = make_maildir(tmp_path / "Maildir", {f"{k}.eml": v for k, v in _batch().items()})
    desk = open_desk(pg_url)
    try:
        ingest_paths(desk, [md], now=NOW, config=CONFIG)
    finally:
        desk.dispose()
    assert len(plans) >= 4 and all("Index" in p for p in plans[:4]), plans


def test_a_grown_desk_is_not_analyzed_for_a_small_table(pg_url, tmp_path, monkeypatch):
    """The fresh-desk ANALYZE is for a desk whose tickets are few: a desk with
    many tickets and few refunds (or any other small table) is left alone."""
    monkeypatch.setattr(fresh_stats, "GROWN", 4)
    monkeypatch.setattr(ingest, "GROUP_MESSAGES", 2)
    md = make_maildir(tmp_path / "Maildir", {f"{k}.eml": v for k, v in _batch().items()})
    desk = open_desk(pg_url)
    try:
        with desk.session() as s:  # the planner is told the desk is large; refund_case stays small
            s.execute(text("UPDATE pg_class SET reltuples = 50000 WHERE oid = to_regclass('ticket')"))
        ingest_paths(desk, [md], now=NOW, config=CONFIG)
        with desk.reader() as s:
            analyzed = s.execute(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'message'")
            ).scalar()
    finally:
        desk.dispose()
    assert analyzed is None


@pytest.mark.parametrize("size", [1, 3])
def test_small_groups_end_as_one_at_a_time(engine_url, tmp_path, monkeypatch, size):
    """Groups that commit inside the batch (a kill loses one group at most)."""
    monkeypatch.setattr(ingest, "GROUP_MESSAGES", size)
    batch_items, batch, single_items, single = _run_both(engine_url, tmp_path)
    assert batch_items == single_items and batch == single
