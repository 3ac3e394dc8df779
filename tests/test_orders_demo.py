"""The demo desk's orders arrive through the real import (issue 19 point 5),
and the repository's sample orders file imports cleanly."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from app.business_calendar import BusinessCalendar
from app.demo import build_demo
from app.orders.importer import import_orders
from conftest import FROZEN_NOW
from models import Order, OrderHistory, Ticket

SAMPLE = Path(__file__).resolve().parent.parent / "app" / "data" / "sample-orders.csv"


def test_demo_orders_come_through_the_import(desk):
    with desk.session() as s:
        build_demo(s, 300, 7, FROZEN_NOW, BusinessCalendar("EE"), login="olivia")
    with desk.reader() as s:
        sources = set(s.scalars(select(Order.source)))
        refreshed = set(s.scalars(select(Order.refreshed_at)))
        pairs = s.execute(select(Ticket.order_number, Order.number).join(Order, Order.id == Ticket.order_id)).all()
        unlinked = s.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.order_id.is_(None), Ticket.order_number.is_not(None))
        )
        total = s.scalar(select(func.count()).select_from(Order))
    assert sources == {"import"} and refreshed == {FROZEN_NOW}
    assert pairs and all(a == b for a, b in pairs) and unlinked == 0
    assert total > 0


def test_sample_orders_file_imports_cleanly_and_twice_changes_nothing(desk):
    first = import_orders(desk.engine, [str(SAMPLE)], now=FROZEN_NOW).as_dict()
    assert first["rejected"] == 0 and first["created"] == first["read"] >= 10, json.dumps(first["errors"])
    again = import_orders(desk.engine, [str(SAMPLE)], now=FROZEN_NOW).as_dict()
    assert again["unchanged"] == first["read"] and again["created"] == again["updated"] == 0
    with desk.reader() as s:
        assert s.scalar(select(func.count()).select_from(OrderHistory)) == 0
