"""Building refund tickets on a fresh desk for the refund case tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.business_calendar import BusinessCalendar
from app.identity import Actor
from app.sla_clocks import clock_due
from models import Customer, Order, Staff, Ticket
from models.enums import Clock

CAL = BusinessCalendar("EE", None, "Europe/Tallinn")
# Monday 2026-03-09 10:00 Tallinn
RECEIVED = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def add_staff(s, login: str = "alice", role: str = "agent") -> Actor:
    st = Staff(login=login, name=login.title(), role=role, created_at=RECEIVED - timedelta(days=100))
    s.add(st)
    s.flush()
    return Actor.of(st)


def add_refund_ticket(
    s,
    ref: str = "RFD-2026-000001",
    *,
    brand: str = "esimium",
    email: str | None = "maria@example.com",
    name: str = "Maria Tamm",
    purchased: datetime | None = None,
    amount: str = "20.00",
    delivered: bool = True,
    quantity: int = 1,
    activated: bool = False,
) -> Ticket:
    cust = Customer(name=name, email=email or "", created_at=RECEIVED - timedelta(days=30))
    s.add(cust)
    s.flush()
    purchased = purchased or RECEIVED - timedelta(days=2)
    order = Order(
        number=f"ORD-{ref[-6:]}0000-0001",
        customer_id=cust.id,
        brand=brand,
        purchased_at=purchased,
        amount=Decimal(amount),
        currency="EUR",
        quantity=quantity,
        plan="Europe 5 GB 30 days",
        delivered_at=purchased + timedelta(minutes=5) if delivered else None,
        activated=activated,
    )
    s.add(order)
    s.flush()
    t = Ticket(
        reference=ref,
        kind="refund",
        status="submitted",
        subject=f"Refund Request {order.number}",
        brand=brand,
        customer_id=cust.id,
        order_id=order.id,
        received_at=RECEIVED,
        review_due_at=clock_due(CAL, Clock.REFUND_REVIEW, RECEIVED),
        created_at=RECEIVED,
        updated_at=RECEIVED,
    )
    t.due_at, t.due_clock = t.review_due_at, Clock.REFUND_REVIEW.value
    s.add(t)
    s.flush()
    return t
