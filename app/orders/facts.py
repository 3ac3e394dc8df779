"""A refund's facts from the stored order, and where each fact came from.

The engine (app.refunds) weighs facts; this module only builds them: the
order's facts (policy from the order; `validity_expired` derived from
`validity_ends_at` at the request time), their provenance ("order, imported
30 Nov 10:02" / "lookup, 2 min ago" / "agent"), the order as it was known
at an instant (rebuilt from order_history), and the customer's orders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import history
from app.errors import InputError
from app.identity import Actor
from app.orders.store import COLUMN, plain
from models import Customer, Order, OrderHistory, Ticket

# refund fact -> the order's column it comes from
ORDER_FACTS: dict[str, str] = {
    "purchase_at": "purchased_at",
    "amount_paid": "amount",
    "currency": "currency",
    "payment_method": "payment_method",
    "customer_type": "customer_type",
    "quantity": "quantity",
    "delivered_at": "delivered_at",
    "installed": "installed",
    "activated": "activated",
    "data_used_mb": "data_used_mb",
    "invoice_received_at": "invoice_received_at",
}


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def order_by_number(session: Session, number: str) -> Order | None:
    return session.scalars(select(Order).where(col(Order.number) == number.strip().upper())).first()


def facts_of_order(
    order: Order, request_at: datetime | None = None, customer_type: str | None = None
) -> dict[str, Any]:
    """The refund facts the order establishes (JSON-ready). `customer_type`
    is the customer's when the order does not say; `validity_expired` is
    derived when the order has a validity end and the request time is known."""
    out: dict[str, Any] = {}
    for fact, column in ORDER_FACTS.items():
        v = getattr(order, column)
        if v is None and fact == "customer_type":
            v = customer_type
        if v is None and fact in ("customer_type", "invoice_received_at"):
            continue
        out[fact] = plain(v)
    if isinstance(out.get("amount_paid"), int):
        out["amount_paid"] = float(out["amount_paid"])
    if isinstance(out.get("data_used_mb"), int):
        out["data_used_mb"] = float(out["data_used_mb"])
    if order.validity_ends_at is not None and request_at is not None:
        out["validity_expired"] = _aware(request_at) >= _aware(order.validity_ends_at)
    return out


def ticket_order_facts(session: Session, t: Ticket) -> dict[str, Any]:
    """Facts known from a refund ticket and its order (the wizard's prefill)."""
    out: dict[str, Any] = {"request_at": t.received_at.isoformat()}
    order = session.get(Order, t.order_id) if t.order_id else None
    cust = session.get(Customer, t.customer_id) if t.customer_id else None
    if order is not None:
        out.update(facts_of_order(order, t.received_at, cust.customer_type if cust else None))
    elif cust is not None:
        out["customer_type"] = cust.customer_type
    return out


def source_label(order: Order, now: datetime, tz: tzinfo | None = None) -> str:
    """Where the order's facts came from, for people: "order, imported 30 Nov
    10:02" (desk-local time with `tz`) / "lookup, 2 min ago" / "order"
    (written before imports existed)."""
    when = order.refreshed_at
    if order.source == "lookup" and when is not None:
        minutes = max(0, int((_aware(now) - _aware(when)).total_seconds() // 60))
        ago = "just now" if minutes < 1 else f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
        return f"lookup, {ago}"
    if order.source == "import" and when is not None:
        return f"order, imported {_aware(when).astimezone(tz or UTC).strftime('%d %b %H:%M').lstrip('0')}"
    return "order"


def provenance(order_facts: dict[str, Any], facts: dict[str, Any], order_label: str | None) -> dict[str, str]:
    """Per fact in `facts`: the order's label when the value is the order's,
    "agent" when someone established or changed it."""
    out: dict[str, str] = {}
    for name, value in facts.items():
        if name in order_facts and order_label is not None and _same(order_facts[name], value):
            out[name] = order_label
        else:
            out[name] = "agent"
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str) and a[:4].isdigit() and b[:4].isdigit():
        try:
            return _aware(datetime.fromisoformat(a)) == _aware(datetime.fromisoformat(b))
        except ValueError:
            return a == b
    if (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return float(a) == float(b)
    return bool(a == b)


@dataclass(frozen=True)
class TicketFactSources:
    """The order-side facts of one refund ticket and their label (detached)."""

    order_number: str | None
    order_facts: dict[str, Any]
    label: str | None  # None: no order linked

    def of(self, facts: dict[str, Any]) -> dict[str, str]:
        return provenance(self.order_facts, facts, self.label)


def fact_sources(session: Session, t: Ticket, now: datetime, tz: tzinfo | None = None) -> TicketFactSources:
    order = session.get(Order, t.order_id) if t.order_id else None
    if order is None:
        return TicketFactSources(t.order_number, {}, None)
    cust = session.get(Customer, t.customer_id) if t.customer_id else None
    return TicketFactSources(
        order.number,
        facts_of_order(order, t.received_at, cust.customer_type if cust else None),
        source_label(order, now, tz),
    )


def record_overrides(
    session: Session, actor: Actor, ticket_id: int, overrides: dict[str, tuple[Any, Any, str]], now: datetime
) -> None:
    """One history event per fact the agent changed from the order's value:
    {fact: (order value, agent value, reason)}."""
    for fact, (was, value, reason) in overrides.items():
        if not reason.strip():
            raise InputError(f"{fact}: an override needs a reason")
        history.record(
            session,
            ticket_id,
            actor.login,
            "fact_override",
            now,
            None,
            None,
            fact=fact,
            order_value=was,
            value=value,
            reason=reason.strip(),
        )


# -- deciding from an order (CLI) ------------------------------------------------
def decide_inputs(
    session: Session, number: str, reason: str | None, file_facts: dict[str, Any] | None, now: datetime
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(policy, facts, facts_from) for `refund decide --order`: the order's
    facts, then --reason, then FILE (FILE wins per field)."""
    order = order_by_number(session, number)
    if order is None:
        raise InputError(f"no order {number.strip().upper()!r} on this desk (import it, or look it up)")
    cust = session.get(Customer, order.customer_id)
    agent: dict[str, Any] = {}
    if reason is not None:
        agent["reason"] = reason
    agent.update(file_facts or {})
    request_at = agent.get("request_at") or now.isoformat()
    try:
        req = _aware(datetime.fromisoformat(str(request_at).replace("Z", "+00:00")))
    except ValueError:
        req = None  # the validation of the facts names it
    base = facts_of_order(order, req, cust.customer_type if cust else None)
    facts = {**base, "request_at": request_at, **agent}
    facts_from = {k: ("order" if k in base and k not in agent else "agent") for k in facts}
    return order.brand, facts, facts_from


# -- the order over time ------------------------------------------------------------
def order_history(session: Session, order_id: int) -> list[OrderHistory]:
    return list(
        session.scalars(
            select(OrderHistory)
            .where(col(OrderHistory.order_id) == order_id)
            .order_by(col(OrderHistory.revision), col(OrderHistory.id))
        )
    )


def order_values(order: Order, email: str | None) -> dict[str, Any]:
    """The order's contract fields now (JSON-ready)."""
    out = {f: plain(getattr(order, column)) for f, column in COLUMN.items()}
    out["customer_email"] = email
    return out


def order_as_of(session: Session, order: Order, at: datetime) -> tuple[int, dict[str, Any]]:
    """(revision, fields) of the order as the desk knew it at `at`: the
    current values with every later update undone."""
    cust = session.get(Customer, order.customer_id)
    values = order_values(order, cust.email if cust else None)
    revision = order.revision
    assert order.id is not None  # a stored order
    for h in reversed(order_history(session, order.id)):
        if _aware(h.at) <= _aware(at):
            break
        for f, (before, _after) in json.loads(h.changes).items():
            values[f] = before
        revision = h.revision - 1
    return revision, values


@dataclass(frozen=True)
class OrderSummary:
    number: str
    product: str | None
    purchased_at: datetime
    amount: float
    currency: str
    policy: str
    source: str | None


def orders_for_customer(session: Session, customer_id: int, limit: int = 50) -> list[OrderSummary]:
    """The customer's orders, newest first (the customer panel)."""
    rows = session.scalars(
        select(Order)
        .where(col(Order.customer_id) == customer_id)
        .order_by(col(Order.purchased_at).desc(), col(Order.id).desc())
        .limit(limit)
    )
    return [
        OrderSummary(o.number, o.plan, o.purchased_at, float(o.amount), o.currency, o.brand, o.source) for o in rows
    ]
