"""Data retention: dry run lists, --apply anonymises exactly the due customers and keeps history."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app import retention
from app.cli.main import main
from app.db import open_desk
from app.errors import InputError
from models import Attachment, Customer, Message, Ticket, TicketEvent
from ops_factory import customer, ticket
from pg_fixtures import engine_url  # noqa: F401

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def desk(engine_url):
    d = open_desk(engine_url)
    with d.session() as s:
        old = customer(s, 1, NOW)  # two tickets, both closed 800 days ago: due
        ticket(s, "CMP-2024-000001", NOW, old, 800)
        ticket(s, "CMP-2024-000002", NOW, old, 760)
        mixed = customer(s, 2, NOW)  # one closed long ago, one still open: not due
        ticket(s, "CMP-2024-000003", NOW, mixed, 800)
        ticket(s, "CMP-2026-000004", NOW, mixed, None)
        recent = customer(s, 3, NOW)  # closed 100 days ago: not due
        ticket(s, "CMP-2026-000005", NOW, recent, 100)
        customer(s, 4, NOW, created_days_ago=900)  # no tickets, long ago: due
        customer(s, 5, NOW, created_days_ago=10)  # no tickets, new: not due
        ticket(s, "CMP-2024-000006", NOW, None, 900)  # no customer record, closed long ago
    yield d
    d.dispose()


def _snapshot(d):
    with d.reader() as s:
        customers = {c.id: (c.name, c.email, c.phone, c.anonymised_at) for c in s.scalars(select(Customer))}
        messages = {m.id: (m.body, m.from_addr, m.from_name, m.to_addr) for m in s.scalars(select(Message))}
        events = s.scalar(select(func.count(TicketEvent.id)))
        tickets = {
            t.reference: (t.status, t.closed_at, t.kind, t.close_reason, t.description)
            for t in s.scalars(select(Ticket))
        }
    return customers, messages, events, tickets


def test_dry_run_lists_and_changes_nothing(desk):
    before = _snapshot(desk)
    with desk.reader() as s:
        p = retention.plan(s, 730, NOW)
    out = p.as_dict()
    assert out["mode"] == "dry-run"
    assert [c["customer_id"] for c in out["changes"]] == [1, 4]
    assert out["changes"][0] == {
        "customer_id": 1,
        "tickets": ["CMP-2024-000001", "CMP-2024-000002"],
        "messages": 4,
        "attachments": 2,
    }
    assert out["tickets_without_customer"] == ["CMP-2024-000006"]
    assert (out["customers"], out["tickets"], out["messages"], out["attachments"]) == (2, 3, 6, 3)
    assert "person1@example.com" not in json.dumps(out)  # the listing itself holds no personal data
    assert _snapshot(desk) == before


def test_apply_anonymises_exactly_the_due_data_and_keeps_history(desk):
    customers0, messages0, events0, tickets0 = _snapshot(desk)
    with desk.session() as s:
        retention.apply(s, 730, NOW, actor="adam")
    customers, _messages, events, tickets = _snapshot(desk)
    assert (
        customers[1][:3] == ("Anonymised customer 1", "anonymised-1@anonymised.invalid", None)
        and customers[1][3] == NOW
    )
    assert customers[4][1] == "anonymised-4@anonymised.invalid"
    for cid in (2, 3, 5):
        assert customers[cid] == customers0[cid]
    with desk.reader() as s:
        due_ids = set(
            s.scalars(
                select(Ticket.id).where(Ticket.reference.in_(["CMP-2024-000001", "CMP-2024-000002", "CMP-2024-000006"]))
            )
        )
        for m in s.scalars(select(Message)):
            if m.ticket_id in due_ids:
                # the customer's address goes; the desk's own address on inbound mail may stay
                to_addr = None if m.kind == "outbound" else "complaints@esimdesk.example"
                assert (m.body, m.from_addr, m.from_name, m.to_addr) == (retention.REMOVED, None, None, to_addr)
            else:
                assert (m.body, m.from_addr, m.from_name, m.to_addr) == messages0[m.id]
        atts = {a.message_id: a for a in s.scalars(select(Attachment))}
        for mid, a in atts.items():
            tid = s.get(Message, mid).ticket_id
            assert (a.data is None) == (tid in due_ids)
            assert a.content_type == "image/jpeg"
        anon_events = s.scalar(select(func.count(TicketEvent.id)).where(TicketEvent.action == "anonymised"))
    # history kept, plus one `anonymised` event per ticket; statistics fields untouched
    assert anon_events == 3 and events == events0 + 3
    for ref, (status, closed_at, kind, reason, description) in tickets.items():
        assert (status, closed_at, kind, reason) == tickets0[ref][:4]
        assert (description is None) == (ref in ("CMP-2024-000001", "CMP-2024-000002", "CMP-2024-000006"))
    # a second run finds nothing left to do
    with desk.reader() as s:
        again = retention.plan(s, 730, NOW).as_dict()
    assert (again["customers"], again["tickets"]) == (0, 0)


def test_shorter_period_reaches_more_customers(desk):
    with desk.reader() as s:
        assert [c.customer_id for c in retention.plan(s, 50, NOW).customers] == [1, 3, 4]
    with pytest.raises(InputError), desk.reader() as s:
        retention.plan(s, 0, NOW)


def test_cli_dry_run_by_default_then_apply(desk, capsys):
    url = desk.url
    assert main(["--db", url, "retention", "--older-than", "730"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "dry-run" and out["customers"] == 2
    with desk.reader() as s:
        assert s.get(Customer, 1).anonymised_at is None
    assert main(["--db", url, "retention", "--older-than", "730", "--apply"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "applied" and out["customers"] == 2
    with desk.reader() as s:
        assert s.get(Customer, 1).email == "anonymised-1@anonymised.invalid"
    with pytest.raises(SystemExit) as exc:
        main(["--db", url, "retention", "--older-than", "zero"])
    assert exc.value.code == 2 and capsys.readouterr().err.count("\n") == 1
    for bad in ("-5", "99999999999"):  # refused by the parser, before the desk is opened
        with pytest.raises(SystemExit) as exc:
            main(["--db", url, "retention", "--older-than", bad])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1 and "out of range" in err
