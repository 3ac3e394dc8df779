"""Retention leaves nothing personal anywhere: a customer's name, e-mail,
phone and identity numbers planted in every free-text place are gone from
the whole database after `esimdesk retention --apply` (both engines), while
order numbers, references and dates stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import history
from app.cli.main import main
from app.db import open_desk
from app.retention import scrub_text
from models import Attachment, Message, Quarantine, RefundCase, Ticket
from ops_factory import customer, dump_tables, ticket
from pg_fixtures import engine_url  # noqa: F401

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NAME, EMAIL, PHONE = "Kristjan Mägi", "kristjan.magi@post.ee", "+372 5123 4567"
PASSPORT, NATIONAL_ID, IBAN = "KB0912345", "38001085718", "EE382200221020145685"
PLANTED = [
    NAME,
    "Kristjan",
    "Mägi",
    EMAIL,
    "kristjan.magi",
    PHONE,
    "5123 4567",
    "51234567",
    PASSPORT,
    NATIONAL_ID,
    IBAN,
]
ORDER = "ORD-8F3K2M9Q1Z-7X2B"


def _plant(s) -> None:
    c = customer(s, 1, NOW)
    c.name, c.email, c.phone = NAME, EMAIL, PHONE
    s.flush()
    t = ticket(s, "CMP-2024-000001", NOW, c, 800)
    t.subject = f"{NAME}: refund for {ORDER}, passport {PASSPORT}"
    t.inquiry_reference = PASSPORT
    s.add(
        Message(
            ticket_id=t.id,
            kind="inbound",
            from_addr=EMAIL,
            from_name=NAME,
            to_addr="complaints@esimdesk.example",
            subject=f"Call me on {PHONE} or 5123 4567 ({NATIONAL_ID})",
            body=f"IBAN {IBAN}",
            created_at=t.received_at,
        )
    )
    s.add(
        Message(
            ticket_id=t.id,
            kind="note",
            author="alice",
            subject=f"note about kristjan ({EMAIL})",
            body=f"Customer {NAME} showed passport {PASSPORT}",
            created_at=t.received_at,
        )
    )
    history.record(
        s,
        t.id,
        "alice",
        "extend",
        t.received_at,
        reason=f"{NAME} ({NATIONAL_ID}) asked on 2024-09-01 about {ORDER}",
        note={"phone": PHONE, "items": [EMAIL]},
    )
    s.add(
        RefundCase(
            ticket_id=t.id,
            policy="esimium",
            facts=json.dumps({"customer_note": f"passport {PASSPORT}", "iban": IBAN}),
            decision=json.dumps({"reasons": [f"{NAME} asked"]}),
        )
    )
    s.add(
        Quarantine(
            received_at=t.received_at,
            source="mbox",
            reason=f"looked like spam from {EMAIL}",
            raw=f"From: {NAME}".encode(),
            state="released",
            ticket_id=t.id,
        )
    )
    m = s.scalars(select(Message).where(Message.ticket_id == t.id)).first()
    s.add(
        Attachment(
            message_id=m.id, filename=f"passport-{PASSPORT}.jpg", content_type="image/jpeg", size=3, data=NAME.encode()
        )
    )
    from models import Draft, Staff

    alice = Staff(login="alice", name="Alice", role="agent", created_at=NOW)
    s.add(alice)
    s.flush()
    s.add(
        Draft(
            ticket_id=t.id,
            staff_id=alice.id,
            kind="reply",
            body=f"Dear {NAME}, about your passport {PASSPORT}",
            updated_at=NOW,
        )
    )
    t.received_at = NOW - timedelta(days=900)


def _cells(engine) -> list[str]:
    out = []
    for table, rows in dump_tables(engine).items():
        for row in rows:
            for value in row:
                if isinstance(value, (bytes, memoryview)):
                    value = bytes(value).decode("utf-8", "replace")
                if value is not None:
                    out.append(f"{table}: {value}")
    return out


def test_retention_leaves_nothing_personal_in_the_whole_database(engine_url, capsys):
    d = open_desk(engine_url)
    with d.session() as s:
        _plant(s)
    before = _cells(d.engine)
    assert any(PASSPORT in c for c in before) and any(NAME in c for c in before)
    assert main(["--db", engine_url, "retention", "--older-than", "730", "--apply"]) == 0
    assert json.loads(capsys.readouterr().out)["customers"] == 1
    after = _cells(d.engine)
    leaks = [c for c in after for p in PLANTED if p.lower() in c.lower()]
    assert leaks == []
    # what carries the statistics stays: the order number, reference, dates
    text = "\n".join(after)
    assert ORDER in text and "CMP-2024-000001" in text and "2024-09-01" in text
    with d.reader() as s:
        t = s.scalars(select(Ticket)).one()
        assert t.subject == f"[removed]: refund for {ORDER}, passport [removed]"
        assert json.loads(s.scalars(select(RefundCase.facts)).one())["customer_note"] == "passport [removed]"
    d.dispose()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Refund of 12.50 EUR on 2026-11-01 for plan 5GB", "Refund of 12.50 EUR on 2026-11-01 for plan 5GB"),
        ("write to someone@else.org or +1 (415) 555-0100", "write to [removed] or [removed]"),
        ("IMEI 356938035643809, ticket ESC-2026-000123", "IMEI [removed], ticket ESC-2026-000123"),
    ],
)
def test_scrub_keeps_statistics_and_removes_shapes_of_personal_data(text, expected):
    assert scrub_text(text) == expected


def test_retention_commits_in_batches(tmp_path, capsys):
    """Each batch is its own transaction: a console's write between two
    batches is not blocked for the whole run (SQLite's single writer)."""
    from app import retention

    url = f"sqlite:///{tmp_path / 'desk.sqlite'}"
    d = open_desk(url)
    with d.session() as s:
        for n in range(1, 8):
            c = customer(s, n, NOW)
            ticket(s, f"CMP-2024-{n:06d}", NOW, c, 800, with_attachment=False)
    commits = []
    from sqlalchemy import event

    event.listen(d.engine, "commit", lambda conn: commits.append(1))
    result = retention.apply_in_batches(d, 730, NOW, batch=3)
    assert len(result.customers) == 7 and result.applied
    assert len(commits) == 3  # 3 + 3 + 1 customers
    d.dispose()
