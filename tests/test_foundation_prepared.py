"""app/prepared.py: statements compiled once per dialect, run on the DBAPI
cursor inside the caller's transaction. Every test runs on the `desk`
fixture, so on SQLite and (ESIMDESK_TEST_ENGINE=pg) on PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import DateTime, String, TypeDecorator, bindparam, event, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from app import history
from app.business_calendar import desk_calendar
from app.mail.ingest import ingest_paths
from app.prepared import Prepared
from app.references import reserve
from mail_helpers import CONFIG, NOW, eml, make_maildir
from models import Message, RefundCase, Ticket, TicketEvent

PLUS2 = timezone(timedelta(hours=2))
RECEIVED = datetime(2026, 11, 20, 16, 45, 12, 345678, tzinfo=PLUS2)  # 14:45:12.345678 UTC
# a missing parameter: KeyError from Prepared (positional, SQLite) or psycopg's own error (named,
# PostgreSQL), possibly wrapped by SQLAlchemy
MISSING = (KeyError, psycopg.ProgrammingError, DBAPIError)

INSERT_TICKET = Prepared.insert(Ticket.__table__, returning="id")
INSERT_MESSAGE = Prepared.insert(Message.__table__, returning="id")
INSERT_EVENT = Prepared.insert(TicketEvent.__table__, returning="id")


def ticket_values(reference: str, **extra) -> dict:
    """The columns a caller must give (no defaults) plus a few clocks; everything else defaulted."""
    return {
        "reference": reference,
        "kind": "complaint",
        "received_at": RECEIVED,
        "ack_due_at": RECEIVED + timedelta(days=3),
        "created_at": RECEIVED,
        "updated_at": RECEIVED,
        **extra,
    }


def count(desk, model) -> int:
    with desk.reader() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def stored(desk, model, pk):
    with Session(desk.engine) as s:
        row = s.get(model, pk)
        assert row is not None, f"{model.__name__} {pk} not stored"
        return row.model_dump()


def stored_text(desk, table: str, pk: int, columns: tuple[str, ...]) -> tuple:
    """The columns as the database holds them (CAST to text): the same
    instant must be stored the same way, or SQL comparisons and ORDER BY mix
    formats (SQLite keeps datetimes as text)."""
    cols = ", ".join(f"CAST({c} AS TEXT)" for c in columns)
    with desk.reader() as s:
        return tuple(s.execute(text(f"SELECT {cols} FROM {table} WHERE id = :id"), {"id": pk}).one())


def missing_names(exc: BaseException) -> set[str]:
    """The parameter names an error about a missing parameter mentions
    (the driver's own message, not the SQL SQLAlchemy adds to it)."""
    text_ = str(exc.orig if isinstance(exc, DBAPIError) else exc)
    return set(re.findall(r"\w+", text_))


def assert_same_row(a: dict, b: dict, *, differ: set[str]) -> None:
    """Equal column for column (ignoring `differ`), aware datetimes in UTC."""
    assert a.keys() == b.keys()
    for k in a.keys() - differ:
        assert a[k] == b[k], k
        assert type(a[k]) is type(b[k]), k
        if isinstance(a[k], datetime):
            assert a[k].utcoffset() == timedelta(0) and b[k].utcoffset() == timedelta(0), k


# -- 1. equivalence with the ORM ------------------------------------------------------
def test_ticket_inserted_prepared_reads_back_like_the_orm_one(desk):
    with desk.session() as s:
        orm = Ticket(**ticket_values("CMP-2026-000001"))
        s.add(orm)
        s.flush()
        orm_id = orm.id
        tid = INSERT_TICKET.scalar(s, ticket_values("CMP-2026-000002"))
    assert isinstance(tid, int) and tid != orm_id
    a, b = stored(desk, Ticket, orm_id), stored(desk, Ticket, tid)
    assert_same_row(a, b, differ={"id", "reference"})
    clocks = ("received_at", "ack_due_at", "created_at", "updated_at", "due_at")
    assert stored_text(desk, "ticket", tid, clocks) == stored_text(desk, "ticket", orm_id, clocks)
    with desk.reader() as s:  # found by an ORM comparison on the stored instant
        assert s.scalars(select(Ticket.id).where(Ticket.received_at == RECEIVED).order_by(Ticket.id)).all() == [
            orm_id,
            tid,
        ]
    # column defaults filled, None stays None, instants exact and aware
    assert (b["status"], b["version"], b["priority"], b["extensions"], b["subject"]) == ("submitted", 1, 2, 0, "")
    assert b["description"] is None and b["due_at"] is None and b["customer_id"] is None
    assert b["received_at"] == RECEIVED and b["received_at"].utcoffset() == timedelta(0)
    assert b["received_at"] == datetime(2026, 11, 20, 14, 45, 12, 345678, tzinfo=UTC)
    assert b["ack_due_at"] == RECEIVED + timedelta(days=3)


def test_explicit_values_override_defaults(desk):
    closed = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    with desk.session() as s:
        tid = INSERT_TICKET.scalar(
            s,
            ticket_values(
                "CMP-2026-000003",
                status="closed",
                version=5,
                priority=1,
                description="ünïcode [b]not markup[/b]",
                closed_at=closed,
            ),
        )
    b = stored(desk, Ticket, tid)
    assert (b["status"], b["version"], b["priority"]) == ("closed", 5, 1)
    assert b["description"] == "ünïcode [b]not markup[/b]" and b["closed_at"] == closed


def test_message_inserted_prepared_reads_back_like_the_orm_one(desk):
    sent = datetime(2026, 11, 20, 10, 0, 1, tzinfo=PLUS2)
    common = {"from_addr": "a@example.com", "subject": "Hi", "body": "text", "sent_at": sent, "created_at": RECEIVED}
    with desk.session() as s:
        tid = INSERT_TICKET.scalar(s, ticket_values("CMP-2026-000004"))
        orm = Message(ticket_id=tid, message_id="<a@x>", **common)
        s.add(orm)
        s.flush()
        orm_id = orm.id
        mid = INSERT_MESSAGE.scalar(s, {"ticket_id": tid, "message_id": "<b@x>", **common})
    a, b = stored(desk, Message, orm_id), stored(desk, Message, mid)
    assert_same_row(a, b, differ={"id", "message_id"})
    assert stored_text(desk, "message", mid, ("sent_at", "created_at")) == stored_text(
        desk, "message", orm_id, ("sent_at", "created_at")
    )
    assert (b["kind"], b["attempts"], b["delivery"], b["next_attempt_at"], b["dedupe_key"]) == (
        "inbound",
        0,
        None,
        None,
        None,
    )
    assert b["sent_at"] == sent and b["sent_at"] == datetime(2026, 11, 20, 8, 0, 1, tzinfo=UTC)


def test_event_inserted_prepared_and_by_history_read_back_like_the_orm_one(desk):
    at = datetime(2026, 11, 20, 23, 59, 59, tzinfo=PLUS2)
    with desk.session() as s:
        tid = INSERT_TICKET.scalar(s, ticket_values("CMP-2026-000005"))
        orm = TicketEvent(
            ticket_id=tid, at=at, actor="olivia", action="status", from_status="submitted", to_status="acknowledged"
        )
        s.add(orm)
        s.flush()
        orm_id = orm.id
        eid = INSERT_EVENT.scalar(
            s,
            {
                "ticket_id": tid,
                "at": at,
                "actor": "olivia",
                "action": "status",
                "from_status": "submitted",
                "to_status": "acknowledged",
            },
        )
        history.record(s, tid, None, "note", at, reason="x")
    assert_same_row(stored(desk, TicketEvent, orm_id), stored(desk, TicketEvent, eid), differ={"id"})
    assert stored_text(desk, "ticket_event", eid, ("at",)) == stored_text(desk, "ticket_event", orm_id, ("at",))
    with desk.reader() as s:
        events = [(e.action, e.actor, e.detail, e.at) for e in history.events(s, tid)]
    assert [e[:3] for e in events][-1] == ("note", None, '{"reason": "x"}')
    assert all(e[3] == at and e[3].utcoffset() == timedelta(0) for e in events)
    assert stored(desk, TicketEvent, eid)["detail"] is None  # nullable column not given -> NULL


def test_refund_case_decimal_and_boolean_round_trip(desk):
    """Types with bind processors on one engine or the other (Numeric, Boolean)."""
    ins = Prepared.insert(RefundCase.__table__, returning="id")
    with desk.session() as s:
        t1 = INSERT_TICKET.scalar(s, ticket_values("RFD-2026-000001", kind="refund"))
        t2 = INSERT_TICKET.scalar(s, ticket_values("RFD-2026-000002", kind="refund"))
        orm = RefundCase(ticket_id=t1, policy="airalo", max_refund=Decimal("12.34"), chargeback_filed=True)
        s.add(orm)
        s.flush()
        orm_id = orm.id
        cid = ins.scalar(
            s, {"ticket_id": t2, "policy": "airalo", "max_refund": Decimal("12.34"), "chargeback_filed": True}
        )
        plain = ins.scalar(
            s,
            {
                "ticket_id": INSERT_TICKET.scalar(s, ticket_values("RFD-2026-000003", kind="refund")),
                "policy": "esimium",
            },
        )
    assert_same_row(stored(desk, RefundCase, orm_id), stored(desk, RefundCase, cid), differ={"id", "ticket_id"})
    money = ("max_refund", "chargeback_filed")
    assert stored_text(desk, "refund_case", cid, money) == stored_text(desk, "refund_case", orm_id, money)
    p = stored(desk, RefundCase, plain)
    assert (p["facts"], p["chargeback_filed"], p["max_refund"], p["approved_at"]) == ("{}", False, None, None)


# -- 2. constants and missing parameters ------------------------------------------------
def test_statement_constants_literal_and_limit(desk):
    with desk.session() as s:
        for n, status in enumerate(["submitted", "closed", "closed", "submitted"], start=10):
            INSERT_TICKET.run(s, ticket_values(f"CMP-2026-0000{n}", status=status))
    first_closed = Prepared(select(Ticket.reference).where(Ticket.status == "closed").order_by(Ticket.id).limit(1))
    last_of_kind = Prepared(
        select(Ticket.reference)
        .where(Ticket.kind == bindparam("kind"), Ticket.status != "closed")
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    with desk.reader() as s:
        assert first_closed.run(s).fetchall() == [("CMP-2026-000011",)]
        assert last_of_kind.first(s, {"kind": "complaint"}) == ("CMP-2026-000013",)
        assert last_of_kind.first(s, {"kind": "refund"}) is None
        assert Prepared(text("SELECT count(*) FROM ticket WHERE status = 'closed'")).scalar(s) == 2


def test_missing_required_parameter_raises_naming_it_and_writes_nothing(desk):
    values = ticket_values("CMP-2026-000020")
    del values["received_at"]
    with desk.session() as s:
        with pytest.raises(MISSING) as info:
            INSERT_TICKET.run(s, values)
        assert "received_at" in missing_names(info.value)
        assert s.execute(select(func.count()).select_from(Ticket)).scalar_one() == 0
    assert count(desk, Ticket) == 0
    by_ref = Prepared(select(Ticket.id).where(Ticket.reference == bindparam("ref")))
    with desk.reader() as s, pytest.raises(MISSING) as info:
        by_ref.first(s, {})
    assert "ref" in missing_names(info.value)


def test_database_errors_surface_as_sqlalchemy_exceptions(desk):
    """Callers catch SQLAlchemy's exceptions (app/mail/ingest.py: IntegrityError
    for a concurrent duplicate, OperationalError to stop the batch), so a
    statement run on the DBAPI cursor must raise them too, not the driver's."""
    with desk.session() as s:
        INSERT_TICKET.run(s, ticket_values("CMP-2026-000021"))
    with pytest.raises(IntegrityError) as info, desk.session() as s:
        INSERT_TICKET.run(s, ticket_values("CMP-2026-000021"))
    assert "reference" in str(info.value.orig).lower() or "unique" in str(info.value.orig).lower()
    assert count(desk, Ticket) == 1


def test_intake_race_on_a_duplicate_is_reported_as_duplicate_not_a_routing_failure(desk, tmp_path, monkeypatch, caplog):
    """Another intake commits the same message between our duplicate check and
    our insert (simulated: the first check misses it). ingest_raw's
    `except IntegrityError` branch must take it: no "could not be routed"."""
    import app.mail.ingest as ingest

    md = make_maildir(
        tmp_path / "Maildir", {"1.eml": eml("Complaint Regarding eSIM Service", msgid="<race@example.com>")}
    )
    ref = ingest_paths(desk, [md], now=NOW, config=CONFIG).items[0].ticket
    real, calls = ingest._find_duplicate, []

    def check_misses_once(session, message_id, key):
        calls.append(message_id)
        return None if len(calls) == 1 else real(session, message_id, key)

    monkeypatch.setattr(ingest, "_find_duplicate", check_misses_once)
    with caplog.at_level("INFO", logger="esimdesk.intake"):
        items = ingest_paths(desk, [md], now=NOW, config=CONFIG).items
    assert [(i.result, i.ticket) for i in items] == [("duplicate", ref)]
    assert not [r for r in caplog.records if "could not be routed" in r.getMessage()]
    assert count(desk, Ticket) == 1 and count(desk, Message) == 1


# -- 3. transactions --------------------------------------------------------------------
def test_session_rollback_undoes_a_prepared_insert(desk):
    with Session(desk.engine) as s:
        tid = INSERT_TICKET.scalar(s, ticket_values("CMP-2026-000030"))
        assert s.get(Ticket, tid).reference == "CMP-2026-000030"  # same transaction: the ORM sees it
        s.rollback()
    with pytest.raises(RuntimeError), desk.session() as s:  # a failing unit of work rolls back too
        INSERT_TICKET.run(s, ticket_values("CMP-2026-000031"))
        raise RuntimeError("boom")
    assert count(desk, Ticket) == 0


def test_connection_outside_a_transaction_begins_one(desk):
    with desk.engine.connect() as conn:
        assert not conn.in_transaction()
        INSERT_TICKET.run(conn, ticket_values("CMP-2026-000032"))
        assert conn.in_transaction()
        assert conn.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
        assert count(desk, Ticket) == 0  # not autocommitted: another connection does not see it yet
        conn.rollback()
        assert conn.execute(select(func.count()).select_from(Ticket)).scalar_one() == 0
        INSERT_TICKET.run(conn, ticket_values("CMP-2026-000033"))
        conn.commit()
    with desk.reader() as s:
        assert s.scalars(select(Ticket.reference)).all() == ["CMP-2026-000033"]


# -- 4. repeated named parameter ----------------------------------------------------------
def test_reserve_with_repeated_parameter_gives_consecutive_numbers(desk):
    with desk.session() as s:
        assert reserve(s, "complaint", 2026, count=3) == 1
    with desk.session() as s:
        assert reserve(s, "complaint", 2026, count=3) == 4
        assert reserve(s, "complaint", 2026) == 7
        assert reserve(s, "complaint", 2027, count=2) == 1
        assert reserve(s, "refund", 2026, count=5) == 1
    with desk.reader() as s:
        rows = s.execute(text("SELECT prefix, year, last FROM reference_counter ORDER BY prefix, year")).all()
    assert [tuple(r) for r in rows] == [("CMP", 2026, 7), ("CMP", 2027, 2), ("RFD", 2026, 5)]


# -- 5. compiled once ---------------------------------------------------------------------
def test_compiled_once_per_dialect(desk):
    stmt = Prepared(select(func.count()).select_from(Ticket).where(Ticket.kind == bindparam("kind")).limit(1))
    assert stmt._by_dialect == {}
    with desk.session() as s:
        stmt.scalar(s, {"kind": "complaint"})
    (entry,) = stmt._by_dialect.values()
    for i in range(25):
        with desk.session() as s:
            INSERT_TICKET.run(s, ticket_values(f"CMP-2026-1000{i:02d}"))
            assert stmt.scalar(s, {"kind": "complaint"}) == i + 1
    assert list(stmt._by_dialect) == [desk.engine.dialect.name]
    assert stmt._by_dialect[desk.engine.dialect.name] is entry


# -- 6. through the real intake -------------------------------------------------------------
def test_ingest_stores_aware_instants_and_business_deadlines(desk, tmp_path):
    first = eml("Complaint Regarding eSIM Service", msgid="<p1@example.com>", date="Fri, 20 Nov 2026 16:45:00 +0200")
    md = make_maildir(tmp_path / "Maildir", {"1.eml": first})
    summary = ingest_paths(desk, [md], now=NOW, config=CONFIG).as_dict()
    assert (summary["read"], summary["created"]) == (1, 1)
    received = datetime(2026, 11, 20, 14, 45, tzinfo=UTC)
    due = desk_calendar(CONFIG).due_at(received, 2)
    with desk.session() as s:  # commits: objects stay loaded (expire_on_commit=False)
        t = s.scalars(select(Ticket)).one()
        m = s.scalars(select(Message).where(Message.ticket_id == t.id)).one()
        created = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)).one()
    assert t.reference == summary["items"][0]["ticket"] and t.kind == "complaint" and t.status == "submitted"
    assert t.received_at == received and t.ack_due_at == due and t.due_at == due
    assert (t.created_at, t.updated_at, t.version) == (NOW, NOW, 1)
    assert m.sent_at == received and m.created_at == NOW
    assert (m.kind, m.attempts, m.delivery, m.message_id) == ("inbound", 0, None, "<p1@example.com>")
    assert (created.action, created.at, created.actor) == ("created", NOW, None)
    for dt in (t.received_at, t.ack_due_at, t.due_at, t.created_at, m.sent_at, m.created_at, created.at):
        assert dt.utcoffset() == timedelta(0)

    # a reply on the thread: stored by the workflow's prepared insert, the ticket touched
    later = NOW + timedelta(hours=1, minutes=30)
    reply = eml(
        "Re: something",
        "more details",
        msgid="<p2@example.com>",
        date="Mon, 23 Nov 2026 11:05:00 +0200",
        extra="In-Reply-To: <p1@example.com>\n",
    )
    md2 = make_maildir(tmp_path / "Maildir2", {"2.eml": reply})
    items = ingest_paths(desk, [md2], now=later, config=CONFIG).as_dict()["items"]
    assert [(i["result"], i["ticket"]) for i in items] == [("linked", t.reference)]
    with desk.session() as s:
        t2 = s.get(Ticket, t.id)
        m2 = s.scalars(select(Message).where(Message.message_id == "<p2@example.com>")).one()
    assert (t2.version, t2.updated_at, t2.updated_by, t2.ack_due_at) == (2, later, None, due)
    assert m2.ticket_id == t.id and m2.sent_at == datetime(2026, 11, 23, 9, 5, tzinfo=UTC) and m2.created_at == later


class _NoneAsDash(TypeDecorator[str]):
    """A bind type that stores None as '-' (a processor that does not keep None)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str:
        return "-" if value is None else value.upper()


def test_a_none_skips_only_the_processors_that_keep_none(desk):
    """Prepared skips a bind processor for None only when that processor maps
    None to None: the aware-instant type's None stays NULL, a type that turns
    None into a value still gets its say."""
    both = Prepared(
        select(
            bindparam("dash", type_=_NoneAsDash()).label("dash"),
            bindparam("at", type_=Ticket.__table__.c.received_at.type).is_(None).label("at"),
        )
    )
    with desk.reader() as s:
        for dash, shown in ((None, "-"), ("a", "A")):
            got = both.first(s, {"dash": dash, "at": None})
            assert got is not None and (got[0], bool(got[1])) == (shown, True)


# -- 7. a date formatted once per instant; a refund's row read back without SQLAlchemy's execution ------
def test_a_date_type_formats_each_instant_once_for_every_column(desk):
    """The date columns of every statement share one bind processor a type,
    which hands back what it made for the same instant (the same object)
    instead of formatting it again; other instants, and equal instants in
    another zone on a type that keeps zones, are formatted for themselves."""
    dialect = desk.engine.dialect
    ticket = {name: proc for name, proc, _ in INSERT_TICKET._compiled(dialect).processors}
    event = {name: proc for name, proc, _ in INSERT_EVENT._compiled(dialect).processors}
    shared = ticket["received_at"]
    assert ticket["created_at"] is shared and ticket["ack_due_at"] is shared and event["at"] is shared
    plain = Ticket.__table__.c.received_at.type.dialect_impl(dialect).bind_processor(dialect)
    assert plain is not None
    first = shared(RECEIVED)
    assert first == plain(RECEIVED) and shared(RECEIVED) is first
    for hours in range(20):  # more instants than it remembers: each still its own value
        at = RECEIVED + timedelta(hours=hours)
        assert shared(at) == plain(at)
    stmt = Prepared(select(bindparam("a", type_=DateTime()).label("a"), bindparam("b", type_=DateTime()).label("b")))
    procs = {name: proc for name, proc, _ in stmt._compiled(dialect).processors}
    if procs:  # SQLite formats a plain DateTime itself (keeping no zone); PostgreSQL leaves it to the driver
        utc = RECEIVED.astimezone(UTC)
        assert procs["a"] is procs["b"] and procs["a"](RECEIVED) == DateTime().dialect_impl(dialect).bind_processor(
            dialect
        )(RECEIVED)
        assert procs["a"](utc) == DateTime().dialect_impl(dialect).bind_processor(dialect)(utc) != procs["a"](RECEIVED)


def test_auto_acknowledged_refund_row_is_read_back_decoded_without_sqlalchemy_execution(desk, tmp_path):
    from app.mail import tickets as mail_tickets

    md = make_maildir(tmp_path / "Maildir", {"1.eml": eml("Refund Request", msgid="<r1@example.com>")})
    (item,) = ingest_paths(desk, [md], now=NOW, config=CONFIG).as_dict()["items"]
    reference = item["ticket"]
    assert reference.startswith("RFD-")
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with desk.session() as s:
        core = s.execute(select(Ticket.__table__).where(Ticket.__table__.c.reference == reference)).mappings().one()
        event.listen(desk.engine, "before_cursor_execute", record)
        try:
            row = mail_tickets._row(s, reference)
        finally:
            event.remove(desk.engine, "before_cursor_execute", record)
    assert seen == []
    assert row is not None and vars(row) == dict(core)
    assert all(type(v) is type(core[k]) for k, v in vars(row).items())
    assert row.acknowledged_at is not None and row.acknowledged_at.utcoffset() == timedelta(0)
