"""Mail and orders meet (the shared orders contract "Mail"; issue 15 point 7): a
quoted order number stays on the ticket whether or not the desk holds the
order, the order is linked when it arrives, the export shows the number, the
evidence pack carries the order and its history, and the customer's orders
are listed."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import refund_cases
from app.export import iter_tickets, write_jsonl
from app.mail.ingest import ingest_paths
from app.orders.facts import orders_for_customer
from app.orders.importer import import_orders
from app.refunds.evidence import build_evidence_markdown
from mail_helpers import CONFIG, NOW, add_staff, eml, new_desk
from models import Message, RefundCase, Ticket, TicketEvent

NUMBER = "ORD-2026111801-K7QZ"


@pytest.fixture()
def desk(tmp_path):
    d = new_desk(tmp_path)
    yield d
    d.dispose()


def mail(desk, tmp_path, subject, body="Please refund, the eSIM never worked.", name="r.eml", **kw):
    path = tmp_path / name
    path.write_bytes(eml(subject, body, sender="payer@example.com", **kw))
    return ingest_paths(desk, [str(path)], now=NOW, config=CONFIG).as_dict()["items"][0]["ticket"]


def orders_file(tmp_path, name="orders.jsonl", **over):
    row = {
        "order_number": NUMBER,
        "policy": "airalo",
        "customer_email": "payer@example.com",
        "purchase_at": "2026-11-18T12:00:00Z",
        "amount_paid": 26,
        "currency": "EUR",
        "product": "Japan 5 GB 30 days",
        "delivered_at": "2026-11-18T12:02:00Z",
        "installed": True,
        "activated": False,
        "data_used_mb": 0,
    }
    row.update(over)
    (tmp_path / name).write_text(json.dumps(row) + "\n")
    return str(tmp_path / name)


def exported(desk, reference):
    out = io.StringIO()
    with desk.reader() as s:
        write_jsonl(iter_tickets(s, now=NOW), out)
    return next(r for r in map(json.loads, out.getvalue().splitlines()) if r["reference"] == reference)


def test_quoted_unknown_order_is_kept_and_not_asked_for(desk, tmp_path):
    ref = mail(desk, tmp_path, f"Refund Request {NUMBER}")
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        outbound = s.scalars(select(Message).where(Message.ticket_id == t.id, Message.kind == "outbound")).all()
        assert (t.kind, t.order_number, t.order_id, t.info_needed) == ("refund", NUMBER, None, None)
        assert not any("order number" in m.body for m in outbound)  # the customer gave it: no question
    assert exported(desk, ref)["order_number"] == NUMBER


def test_the_order_is_linked_when_it_is_imported(desk, tmp_path):
    ref = mail(desk, tmp_path, f"Refund Request {NUMBER}")
    summary = import_orders(desk.engine, [orders_file(tmp_path)], now=NOW + timedelta(hours=1))
    assert summary.linked == [(ref, NUMBER)]
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        case = s.scalars(select(RefundCase).where(RefundCase.ticket_id == t.id)).one()
        (ev,) = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.action == "order_linked")
        ).all()
        view = refund_cases.load(s, ref)
        assert t.order_id is not None and t.brand == "airalo" and case.policy == "airalo"
        assert json.loads(ev.detail) == {"order": NUMBER, "source": "import"}
    assert exported(desk, ref)["order_number"] == NUMBER
    # the wizard's prefill starts from the order
    assert view.order_number == NUMBER
    assert {k: view.facts[k] for k in ("amount_paid", "currency", "installed", "activated")} == {
        "amount_paid": 26.0,
        "currency": "EUR",
        "installed": True,
        "activated": False,
    }


def test_no_number_still_asks_and_a_reply_quoting_one_keeps_it(desk, tmp_path):
    ref = mail(desk, tmp_path, "Refund Request", msgid="<r1@example.com>")
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert t.info_needed == "order_number" and t.order_number is None
    mail(desk, tmp_path, f"Re: [{ref}] order number needed", f"It is {NUMBER}", name="r2.eml", msgid="<r2@example.com>")
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert (t.order_number, t.info_needed, t.order_id) == (NUMBER, None, None)
    import_orders(desk.engine, [orders_file(tmp_path)], now=NOW)
    with desk.reader() as s:
        assert s.scalars(select(Ticket).where(Ticket.reference == ref)).one().order_id is not None


def test_evidence_pack_carries_the_order_and_what_was_known_at_the_decision(desk, tmp_path):
    ref = mail(desk, tmp_path, f"Refund Request {NUMBER}")
    import_orders(desk.engine, [orders_file(tmp_path)], now=NOW + timedelta(minutes=5))
    agent = add_staff(desk, "alice", "agent")
    decided_at = NOW + timedelta(hours=2)
    with desk.session() as s:
        facts = {**refund_cases.load(s, ref).facts, "reason": "no_longer_needed"}
        d = refund_cases.record_facts(s, agent, ref, facts, expected_version=None, now=decided_at)
    assert d["outcome"] != "needs_info"
    # later the shop reports use: the evidence still shows what was known at the decision
    import_orders(
        desk.engine, [orders_file(tmp_path, "o2.jsonl", activated=True, data_used_mb=300)], now=NOW + timedelta(days=1)
    )
    with desk.reader() as s:
        text = build_evidence_markdown(s, ref, now=NOW + timedelta(days=2))
    assert "## Order history (1 updates)" in text
    assert "activated: False → True; data\\_used\\_mb: 0 → 300" in text
    assert "held revision 1 of the order" in text
    held = text.split("held revision 1 of the order:")[1].split("##")[0]
    assert "| data used mb | 0 |" in held and "| activated | False |" in held
    assert "imported from the shop" in text and "Japan 5 GB 30 days" in text


def test_orders_for_customer_lists_newest_first(desk, tmp_path):
    import_orders(
        desk.engine,
        [
            orders_file(tmp_path),
            orders_file(
                tmp_path,
                "b.jsonl",
                order_number="ORD-2026112501-AAAA",
                purchase_at="2026-11-25T08:00:00Z",
                delivered_at=None,
            ),
        ],
        now=NOW,
    )
    with desk.reader() as s:
        cid = s.execute(select(Ticket.customer_id)).first()
        from models import Order

        customer_id = s.scalars(select(Order.customer_id)).first()
        listed = orders_for_customer(s, customer_id)
    assert cid is None  # orders without any ticket
    assert [o.number for o in listed] == ["ORD-2026112501-AAAA", NUMBER]
    assert (listed[1].product, listed[1].amount, listed[1].policy, listed[1].source) == (
        "Japan 5 GB 30 days",
        26.0,
        "airalo",
        "import",
    )
