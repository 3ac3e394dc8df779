"""The shop's lookup command (the shared orders contract "Lookup"), run for real: a
script that answers, fails, hangs or prints garbage."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.config import OrdersConfig, parse_config
from app.errors import ConfigError
from app.orders.facts import order_by_number, order_history
from app.orders.lookup import LookupFailed, fetch_order, needs_lookup, refresh_for_ticket
from app.workflow.messages import timeline
from models import Ticket, TicketEvent

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
SCRIPT = textwrap.dedent("""
    import json, sys, time
    number = sys.argv[1]
    mode = number.split("-")[-1]
    if mode == "FAIL":
        print("shop API: 503 Service Unavailable", file=sys.stderr)
        sys.exit(3)
    if mode == "SLOW":
        time.sleep(30)
    if mode == "JUNK":
        print("<html>oops</html>")
        sys.exit(0)
    if mode == "BADF":
        print(json.dumps({"order_number": number, "policy": "esimium", "customer_email": "x@example.com",
                          "purchase_at": "tomorrow", "amount_paid": 5, "currency": "EUR"}))
        sys.exit(0)
    used = float(open(sys.argv[2]).read()) if len(sys.argv) > 2 else 0
    print(json.dumps({"order_number": number, "policy": "airalo", "customer_email": "lena@example.com",
                      "customer_name": "Lena Kask", "purchase_at": "2026-11-28T09:00:00Z", "amount_paid": 13,
                      "currency": "EUR", "delivered_at": "2026-11-28T09:01:00Z", "installed": True,
                      "activated": used > 0, "data_used_mb": used}))
""")


@pytest.fixture()
def cfg(tmp_path):
    script = tmp_path / "order-facts.py"
    script.write_text(SCRIPT)
    usage = tmp_path / "usage"
    usage.write_text("0")
    return OrdersConfig(lookup=(sys.executable, str(script), "{order}", str(usage)), timeout_seconds=1.5), usage


def test_success_stores_the_order_through_the_import_rules(desk, cfg):
    config, usage = cfg
    r = fetch_order(desk.engine, config, "ord-2026112801-okay", now=NOW)
    assert (r.ok, r.outcome, r.line) == (True, "created", "order ORD-2026112801-OKAY looked up: created")
    usage.write_text("250")
    later = NOW + timedelta(minutes=90)
    assert fetch_order(desk.engine, config, "ORD-2026112801-OKAY", now=later).outcome == "updated"
    assert (
        fetch_order(desk.engine, config, "ORD-2026112801-OKAY", now=later + timedelta(hours=2)).outcome == "unchanged"
    )
    with desk.reader() as s:
        o = order_by_number(s, "ORD-2026112801-OKAY")
        assert (o.brand, o.source, o.data_used_mb, o.activated) == ("airalo", "lookup", 250, True)
        assert o.refreshed_at == later + timedelta(hours=2)  # confirmed unchanged: fresh again
        (h,) = order_history(s, o.id)
        assert h.source == "lookup" and json.loads(h.changes)["data_used_mb"] == [0, 250]


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("FAIL", "order lookup for ORD-2026112801-FAIL failed (exit 3): shop API: 503 Service Unavailable"),
        ("SLOW", "order lookup for ORD-2026112801-SLOW timed out after 1.5 s"),
        ("JUNK", "order lookup for ORD-2026112801-JUNK printed no JSON object: <html>oops</html>"),
        ("BADF", "order lookup for ORD-2026112801-BADF: purchase_at: not a date-time: 'tomorrow'"),
    ],
)
def test_failures_are_one_line_on_the_ticket(desk, cfg, suffix, expected):
    config, _usage = cfg
    number = f"ORD-2026112801-{suffix}"
    with desk.session() as s:
        t = Ticket(
            reference="RFD-2026-000001",
            kind="refund",
            order_number=number,
            received_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
        s.add(t)
    assert needs_lookup(desk.engine, config, "RFD-2026-000001", NOW)
    started = time.monotonic()
    r = refresh_for_ticket(desk.engine, config, "rfd-2026-000001", now=NOW)
    assert time.monotonic() - started < 10
    assert (r.ok, r.line) == (False, expected)
    with desk.reader() as s:
        (e,) = s.scalars(select(TicketEvent).where(TicketEvent.action == "order_lookup_failed")).all()
        assert json.loads(e.detail) == {"order": number, "reason": expected}
        (item,) = [i for i in timeline(s, e.ticket_id) if i.action == "order_lookup_failed"]
        assert expected in item.text  # the one line, on the ticket's timeline
        assert s.scalars(select(Ticket)).one().order_id is None
        assert order_by_number(s, number) is None
    with pytest.raises(LookupFailed, match="^" + expected.replace("(", r"\(").replace(")", r"\)")):
        fetch_order(desk.engine, config, number, now=NOW)


def test_a_ticket_naming_an_unheld_order_is_linked_by_the_lookup(desk, cfg):
    config, _usage = cfg
    with desk.session() as s:
        s.add(
            Ticket(
                reference="RFD-2026-000002",
                kind="refund",
                order_number="ORD-2026112801-OKAY",
                info_needed=None,
                received_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    r = refresh_for_ticket(desk.engine, config, "RFD-2026-000002", now=NOW)
    assert r.ok
    with desk.reader() as s:
        t = s.scalars(select(Ticket)).one()
        assert t.order_id is not None and t.brand == "airalo" and t.version == 2
        actions = [e.action for e in s.scalars(select(TicketEvent).order_by(TicketEvent.id))]
        assert actions == ["order_linked", "order_lookup"]
    # fresh now; stale after max_age_minutes
    assert not needs_lookup(desk.engine, config, "RFD-2026-000002", NOW + timedelta(minutes=59))
    assert needs_lookup(desk.engine, config, "RFD-2026-000002", NOW + timedelta(minutes=61))


def test_no_lookup_configured_is_one_line(desk):
    with pytest.raises(LookupFailed, match=r"no order lookup is configured \(\[orders\] lookup\)"):
        fetch_order(desk.engine, OrdersConfig(), "ORD-1", now=NOW)


def test_orders_config_block():
    c = parse_config(
        {"orders": {"lookup": ["/opt/shop/bin/order-facts", "{order}"], "timeout_seconds": 5, "max_age_minutes": 30}}
    )
    assert c.orders == OrdersConfig(("/opt/shop/bin/order-facts", "{order}"), 5.0, 30.0)
    assert parse_config({}).orders == OrdersConfig((), 5.0, 60.0)
    for bad in ({"lookup": "/bin/x {order}"}, {"lookup": [1]}, {"timeout_seconds": 0}, {"max_age_minutes": "1"}):
        with pytest.raises(ConfigError, match="orders"):
            parse_config({"orders": bad})
