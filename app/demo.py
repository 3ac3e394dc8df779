"""A realistic demo desk, deterministic for a given seed and anchor time.

Everything is generated in memory and written in bulk (app/demo_bulk.py:
one executemany or COPY per table, the derived tables' row triggers
suspended and their tables filled set-based by the same rules). The tickets obey the
workflow's rules: clocks computed by the business calendar, history events
for every step, escalations reviewed only by seniors who never touched the
complaint, out-of-scope inquiries closed without complaint clocks, refund
cases decided by the refund engine.

The stories live beside it: app/demo_complaints.py (complaints, escalations),
app/demo_refunds.py (refunds, inquiries, quarantine), over the rows and
helpers of app/demo_builder.py and the names and mixes of app/demo_data.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlmodel import Session, SQLModel

from app.business_calendar import BusinessCalendar
from app.demo_builder import aware_utc
from app.demo_bulk import Laps, bulk_load, write_rows
from app.demo_complaints import ComplaintStories
from app.demo_data import COMPLAINT_MIX, DemoRow
from app.demo_refunds import RefundStories
from app.errors import InputError
from app.identity import os_login
from models import (
    Customer,
    DeskSetting,
    Message,
    Order,
    Quarantine,
    ReferenceCounter,
    RefundCase,
    Staff,
    Ticket,
    TicketEvent,
    table_of,
)


@dataclass
class DemoResult:
    tickets: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds since the start, by step


class _Builder(ComplaintStories, RefundStories):
    """The whole demo desk: every story kind over one seeded builder."""


def build_demo(
    session: Session, tickets: int, seed: int, now: datetime, cal: BusinessCalendar, login: str | None = None
) -> DemoResult:
    """Fill an empty desk. `now` anchors every generated instant."""
    import gc
    import time

    if tickets < 1:
        raise InputError("--tickets must be at least 1")
    existing = session.scalar(select(func.count()).select_from(Ticket)) or 0
    if existing:
        raise InputError(f"the desk already has {existing} tickets; the demo fills an empty desk (use a new --db)")
    if session.scalar(select(func.count()).select_from(Staff)):
        raise InputError("the desk already has staff; the demo fills an empty desk (use a new --db)")
    started = time.perf_counter()
    lap = Laps()
    now = aware_utc(now).replace(microsecond=0)
    b = _Builder(tickets, seed, now, cal, login or os_login())
    # millions of rows, none of them in a cycle: the collector's full passes over
    # them would cost more than making them
    collecting = gc.isenabled()
    gc.disable()
    try:
        _generate(b, tickets)
        lap("generate")
        _write(session.connection(), b, seed, now, lap)
    finally:
        if collecting:
            gc.enable()
    counts: dict[str, int] = {}
    for t in b.tickets:
        counts[t["kind"]] = counts.get(t["kind"], 0) + 1
    return DemoResult(tickets=len(b.tickets), counts=counts, seconds=time.perf_counter() - started, phases=dict(lap))


def _generate(b: _Builder, tickets: int) -> None:
    """Every story, drawn in turn from the builder's one random sequence."""
    from app.refunds import decide

    b.build_staff()
    plans = [p for p, _ in COMPLAINT_MIX]
    weights = [w for _, w in COMPLAINT_MIX]
    rng = b.rng
    memo: dict[str, dict[str, Any]] = {}

    def cached_decide(policy: str, facts: dict[str, Any]) -> dict[str, Any]:
        key = policy + json.dumps(facts, sort_keys=True, default=str)
        if key not in memo:
            memo[key] = decide(policy, facts)
        return memo[key]

    while len(b.tickets) < tickets:
        r = rng.random()
        room = tickets - len(b.tickets)
        if r < 0.52:
            plan = rng.choices(plans, weights)[0]
            if room < 2 and plan in ("escalated", "closed_final"):
                plan = "investigation"
            b.complaint(plan)
        elif r < 0.80:
            b.refund(cached_decide)
        else:
            b.inquiry()
    b.quarantined(max(3, tickets // 500))


def _write(conn: Connection, b: _Builder, seed: int, now: datetime, lap: Laps) -> None:
    """The generated rows, in bulk (app/demo_bulk.py), in the session's transaction."""

    def store(*pairs: tuple[type[SQLModel], list[DemoRow]]) -> None:
        for model, rows in pairs:
            write_rows(conn, table_of(model), rows)

    with bulk_load(conn, lap):
        store((Staff, b.staff), (Customer, b.customers))
        _store_orders(conn, b, now)
        store(
            (Ticket, b.tickets),
            (TicketEvent, b.events),
            (Message, b.messages),
            (RefundCase, b.refunds),
            (Quarantine, b.quarantine),
        )
        lap("write")
    conn.execute(
        insert(table_of(ReferenceCounter)), [{"prefix": p, "year": y, "last": n} for (p, y), n in b.counters.items()]
    )
    conn.execute(
        insert(table_of(DeskSetting)),
        [
            {"key": "demo", "value": "true"},
            {"key": "demo_seed", "value": str(seed)},
            {"key": "demo_now", "value": now.isoformat()},
        ],
    )


def _store_orders(conn: Connection, b: _Builder, now: datetime) -> None:
    """Store the generated orders as the shop's import stores them
    (app.orders: the contract's normalised fields, source "import", revision
    1, the content hash a re-import compares), in one bulk write instead of
    through a file and the row-by-row validation; the tickets then point at
    the stored ids."""
    from app.orders.fields import OrderRow
    from app.orders.store import COLUMN as ORDER_COLUMNS

    by_id = {c["id"]: c for c in b.customers}
    rows = []
    for o in b.orders:
        c = by_id[o["customer_id"]]
        values = {
            "order_number": o["number"],
            "policy": o["brand"],
            "customer_email": c["email"],
            "customer_name": None,
            "purchase_at": o["purchased_at"].astimezone(UTC),
            "amount_paid": float(o["amount"]),
            "currency": o["currency"],
            "payment_method": o["payment_method"],
            "customer_type": c["customer_type"],
            "quantity": o["quantity"],
            "product": o["plan"],
            "delivered_at": o["delivered_at"].astimezone(UTC) if o["delivered_at"] else None,
            "installed": o["installed"],
            "activated": o["activated"],
            "data_used_mb": float(o["data_used_mb"]),
            # no validity_ends_at: the demo's refund cases were decided without a validity fact
            "validity_ends_at": None,
            "invoice_received_at": None,
            "reseller": None,
        }
        row = {col: values[f] for f, col in ORDER_COLUMNS.items()}
        row.update(
            customer_id=c["id"],
            validity_days=o["validity_days"],
            source="import",
            refreshed_at=now,
            revision=1,
            content_hash=OrderRow(values).content_hash(),
        )
        rows.append(row)
    orders = table_of(Order)
    write_rows(conn, orders, rows)
    ids = dict(conn.execute(select(orders.c.number, orders.c.id)).all())
    number_of = {o["id"]: o["number"] for o in b.orders}
    for t in b.tickets:
        if t["order_id"] is not None:
            t["order_id"] = ids[number_of[t["order_id"]]]
