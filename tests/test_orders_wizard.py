"""The refund wizard starts from the order's facts, shows where each fact
came from, and records an agent's override with its reason (Pilot)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.business_calendar import BusinessCalendar
from app.orders.importer import import_orders
from models import Customer, RefundCase, Ticket, TicketEvent
from refund_case_helpers import add_staff
from wizard_harness import WizardApp, page_text, walk_to_decision

CAL = BusinessCalendar("EE", None, "Europe/Tallinn")
IMPORTED = datetime(2026, 11, 30, 10, 2, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 10, 4, tzinfo=UTC)
NUMBER = "ORD-2026112801-PROV"
ORDER = {
    "order_number": NUMBER,
    "policy": "esimium",
    "customer_email": "ann@example.com",
    "customer_name": "Ann Tamm",
    "purchase_at": "2026-11-28T09:00:00Z",
    "amount_paid": 19.0,
    "currency": "EUR",
    "payment_method": "card",
    "delivered_at": "2026-11-28T09:01:00Z",
    "installed": True,
    "activated": False,
    "data_used_mb": 0,
}


@pytest.fixture()
def case(desk, tmp_path):
    received = datetime(2026, 11, 29, 9, tzinfo=UTC)
    with desk.session() as s:
        actor = add_staff(s, "alice", "agent")
        c = Customer(name="Ann Tamm", email="ann@example.com", created_at=received)
        s.add(c)
        s.flush()
        t = Ticket(
            reference="RFD-2026-000501",
            kind="refund",
            subject=f"Refund Request {NUMBER}",
            customer_id=c.id,
            order_number=NUMBER,
            received_at=received,
            created_at=received,
            updated_at=received,
        )
        s.add(t)
        s.flush()
        s.add(RefundCase(ticket_id=t.id, policy="esimium", facts=json.dumps({"reason": "technical_failure"})))
    (tmp_path / "o.jsonl").write_text(json.dumps(ORDER) + "\n")
    assert import_orders(desk.engine, [str(tmp_path / "o.jsonl")], now=IMPORTED).linked == [("RFD-2026-000501", NUMBER)]
    return actor


def keys(text: str) -> list[str]:
    return ["space" if ch == " " else ch for ch in text]


async def test_facts_show_their_source_and_an_override_lands_in_the_history(desk, case):
    app = WizardApp(desk, case, "RFD-2026-000501", lambda: NOW, CAL)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.fact_sources()["amount_paid"] == "order, imported 30 Nov 12:02"  # desk-local (Tallinn)
        assert screen.fact_sources()["reason"] == "agent"
        await pilot.press("f")
        text = page_text(screen)
        assert "Facts and where they came from" in text
        line = next(x for x in text.splitlines() if x.strip().startswith("activated"))
        assert "no" in line and "order, imported 30 Nov 12:02" in line
        # typed fast, no pauses: o, the override, enter, then back to the policy
        await pilot.press("o", *keys("activated yes customer sent a screenshot of the activated plan"), "enter", "f")
        assert screen.facts["activated"] is True and screen.fact_sources()["activated"] == "agent"
        assert not screen.showing_facts
        await pilot.press("f")
        line = next(x for x in page_text(screen).splitlines() if x.strip().startswith("activated"))
        assert "yes" in line and "agent (override: customer sent a screenshot of the activated plan)" in line
        await pilot.press("f")
        await walk_to_decision(pilot)
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == "RFD-2026-000501")).one()
        (ev,) = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.action == "fact_override")
        ).all()
        assert ev.actor == "alice" and ev.at == NOW
        assert json.loads(ev.detail) == {
            "fact": "activated",
            "order_value": False,
            "value": True,
            "reason": "customer sent a screenshot of the activated plan",
        }
        stored = json.loads(s.scalars(select(RefundCase.facts).where(RefundCase.ticket_id == t.id)).one())
        assert stored["activated"] is True and stored["installed"] is True


async def test_an_override_without_a_reason_is_refused(desk, case):
    app = WizardApp(desk, case, "RFD-2026-000501", lambda: NOW, CAL)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("o", *keys("activated yes"), "enter")
        assert app.screen.facts["activated"] is False and app.screen.overrides == {}


LOOKUP_SCRIPT = """
import json, sys, time
number = sys.argv[1]
if number.endswith("SLOW"):
    time.sleep(30)
print(json.dumps({"order_number": number, "policy": "airalo", "customer_email": "ann@example.com",
                  "purchase_at": "2026-11-28T09:00:00Z", "amount_paid": 26, "currency": "EUR",
                  "installed": True, "activated": True, "data_used_mb": 5}))
"""


def _unheld_ticket(desk, number: str, ref: str) -> None:
    received = datetime(2026, 11, 29, 9, tzinfo=UTC)
    with desk.session() as s:
        t = Ticket(
            reference=ref,
            kind="refund",
            subject=f"Refund Request {number}",
            order_number=number,
            received_at=received,
            created_at=received,
            updated_at=received,
        )
        s.add(t)
        s.flush()
        s.add(RefundCase(ticket_id=t.id, policy="esimium", facts=json.dumps({"reason": "technical_failure"})))


@pytest.mark.parametrize("suffix", ["GOOD", "SLOW"])
async def test_opening_the_wizard_looks_an_unheld_order_up_in_a_worker(desk, case, tmp_path, suffix):
    import sys
    import time

    from app.config import DeskConfig, OrdersConfig

    number, ref = f"ORD-2026112802-{suffix}", "RFD-2026-000502"
    _unheld_ticket(desk, number, ref)
    script = tmp_path / "facts.py"
    script.write_text(LOOKUP_SCRIPT)
    app = WizardApp(desk, case, ref, lambda: NOW, CAL)
    app.config = DeskConfig(orders=OrdersConfig(lookup=(sys.executable, str(script), "{order}"), timeout_seconds=2))
    async with app.run_test(size=(160, 50)) as pilot:
        started = time.monotonic()
        await pilot.press("f")  # the console answers while the lookup runs
        assert app.screen.showing_facts and time.monotonic() - started < 1.5
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        if suffix == "GOOD":
            assert screen.sources.label == "lookup, just now"
            assert screen.facts["activated"] is True and screen.fact_sources()["activated"] == "lookup, just now"
            assert "looked up: created" in screen.status_line
        else:
            assert screen.status_line == f"order lookup for {number} timed out after 2 s"
            assert screen.sources.label is None
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        (ev,) = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.action.like("order_lookup%"))
        ).all()
        assert ev.actor is None  # on open: the desk's own doing
        assert (t.order_id is not None) == (suffix == "GOOD")
