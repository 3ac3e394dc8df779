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
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlmodel import Session, SQLModel

from app.business_calendar import BusinessCalendar
from app.demo_builder import aware_utc
from app.demo_bulk import bulk_load, write_rows
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


class _Builder(ComplaintStories, RefundStories):
    """The whole demo desk: every story kind over one seeded builder."""


def build_demo(
    session: Session, tickets: int, seed: int, now: datetime, cal: BusinessCalendar, login: str | None = None
) -> DemoResult:
    """Fill an empty desk. `now` anchors every generated instant."""
    import time

    from app.refunds import decide

    if tickets < 1:
        raise InputError("--tickets must be at least 1")
    existing = session.scalar(select(func.count()).select_from(Ticket)) or 0
    if existing:
        raise InputError(f"the desk already has {existing} tickets; the demo fills an empty desk (use a new --db)")
    if session.scalar(select(func.count()).select_from(Staff)):
        raise InputError("the desk already has staff; the demo fills an empty desk (use a new --db)")
    started = time.perf_counter()
    now = aware_utc(now).replace(microsecond=0)
    b = _Builder(tickets, seed, now, cal, login or os_login())
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
    conn = session.connection()

    def store(*pairs: tuple[type[SQLModel], list[DemoRow]]) -> None:
        for model, rows in pairs:
            write_rows(conn, table_of(model), rows)

    store((Staff, b.staff), (Customer, b.customers))
    _import_orders(conn, b, now)  # the shop's orders arrive the way a real desk's do
    with bulk_load(conn):
        store(
            (Ticket, b.tickets),
            (TicketEvent, b.events),
            (Message, b.messages),
            (RefundCase, b.refunds),
            (Quarantine, b.quarantine),
        )
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
    counts: dict[str, int] = {}
    for t in b.tickets:
        counts[t["kind"]] = counts.get(t["kind"], 0) + 1
    return DemoResult(tickets=len(b.tickets), counts=counts, seconds=time.perf_counter() - started)


def order_file_rows(b: _Builder) -> list[DemoRow]:
    """The generated orders as the shop exports them (the shared orders contract)."""
    by_id = {c["id"]: c for c in b.customers}
    out = []
    for o in b.orders:
        c = by_id[o["customer_id"]]
        out.append(
            {
                "order_number": o["number"],
                "policy": o["brand"],
                "customer_email": c["email"],
                "purchase_at": o["purchased_at"].isoformat(),
                "amount_paid": o["amount"],
                "currency": o["currency"],
                "payment_method": o["payment_method"],
                "customer_type": c["customer_type"],
                "quantity": o["quantity"],
                "product": o["plan"],
                "delivered_at": o["delivered_at"].isoformat() if o["delivered_at"] else None,
                "installed": o["installed"],
                "activated": o["activated"],
                "data_used_mb": o["data_used_mb"],
                # no validity_ends_at: the demo's refund cases were decided without a validity fact
            }
        )
    return out


def _import_orders(conn: Connection, b: _Builder, now: datetime) -> None:
    """Write the generated orders to a JSONL file and import it
    (app.orders.importer); the tickets then point at the stored ids."""
    import tempfile
    from pathlib import Path

    from app.orders.importer import import_orders

    with tempfile.TemporaryDirectory(prefix="esimdesk-demo-") as tmp:
        path = Path(tmp) / "demo-orders.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in order_file_rows(b):
                fh.write(json.dumps(row) + "\n")
        summary = import_orders(conn, [str(path)], now=now)
    if summary.rejected:
        raise AssertionError(f"demo orders rejected: {summary.errors[:3]}")
    ids = dict(conn.execute(select(table_of(Order).c.number, table_of(Order).c.id)).all())
    number_of = {o["id"]: o["number"] for o in b.orders}
    for t in b.tickets:
        if t["order_id"] is not None:
            t["order_id"] = ids[number_of[t["order_id"]]]
