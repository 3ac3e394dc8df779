"""Writing validated orders: upsert by order number, in bulk, through
SQLAlchemy Core (the ORM costs ~7x more per row; DESIGN.md "Measuring").

An unchanged row (same content hash) is not touched. An update bumps the
order's revision and writes one `order_history` row with every changed
field's value before and after. Open tickets that quoted an order number
are linked to the order when it arrives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from app import history
from app.orders.fields import STORED, OrderRow, canonical
from app.prepared import Prepared
from models import Customer, Order, OrderHistory, RefundCase, Ticket, table_of
from models.enums import TicketKind, TicketStatus

# contract field -> esim_order column (customer_email is the customer_id link)
COLUMN: dict[str, str] = {
    "order_number": "number",
    "policy": "brand",
    "purchase_at": "purchased_at",
    "amount_paid": "amount",
    "currency": "currency",
    "payment_method": "payment_method",
    "customer_type": "customer_type",
    "quantity": "quantity",
    "product": "plan",
    "delivered_at": "delivered_at",
    "installed": "installed",
    "activated": "activated",
    "data_used_mb": "data_used_mb",
    "validity_ends_at": "validity_ends_at",
    "invoice_received_at": "invoice_received_at",
    "reseller": "reseller",
}
IN_CHUNK = 900  # parameters per IN (...) list: well under every engine's limit

_order = table_of(Order)
_customer = table_of(Customer)
_ticket = table_of(Ticket)
_INSERT_ORDER = Prepared.insert(_order)
_UPDATED = (
    "customer_id",
    *[c for c in COLUMN.values() if c != "number"],
    "source",
    "refreshed_at",
    "revision",
    "content_hash",
)
_UPDATE_ORDER = Prepared(
    update(_order)
    .where(_order.c.id == bindparam("oid"))
    .values({c: bindparam(c, type_=_order.c[c].type) for c in _UPDATED})
)


@dataclass
class Stored:
    """What one upsert batch did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: list[tuple[str, str]] = field(default_factory=list)  # (ticket reference, order number)


def _chunks(seq: Sequence[Any], n: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def plain(v: Any) -> Any:
    """A stored value as JSON (history, provenance): Decimal as float, datetimes as ISO text."""
    if isinstance(v, Decimal):
        v = float(v)
    return canonical(v)


def _customer_ids(conn: Connection, rows: list[OrderRow], now: datetime) -> dict[str, int]:
    """lower(email) -> customer id for every row's email; new customers created,
    blank names filled from customer_name."""
    wanted: dict[str, OrderRow] = {}
    for r in rows:
        wanted.setdefault(r.email_key, r)
    found: dict[str, tuple[int, str | None]] = {}
    keys = list(wanted)
    for part in _chunks(keys):
        for cid, key, name in conn.execute(
            select(_customer.c.id, func.lower(_customer.c.email), _customer.c.name)
            .where(func.lower(_customer.c.email).in_(part))
            .order_by(_customer.c.id)
        ):
            found.setdefault(key, (cid, name))
    new = [k for k in keys if k not in found]
    if new:
        params = [
            {
                "email": wanted[k].values["customer_email"],
                "name": wanted[k].values["customer_name"],
                "phone": None,
                "customer_type": wanted[k].values["customer_type"],
                "created_at": now,
                "anonymised_at": None,
            }
            for k in new
        ]
        conn.execute(insert(_customer), params)  # one executemany (RETURNING would go row by row on SQLite)
        for part in _chunks(new):
            for cid, key in conn.execute(
                select(_customer.c.id, func.lower(_customer.c.email))
                .where(func.lower(_customer.c.email).in_(part))
                .order_by(_customer.c.id)
            ):
                found.setdefault(key, (cid, wanted[key].values["customer_name"]))
    fill = [
        {"cid": found[k][0], "new_name": r.values["customer_name"]}
        for k, r in wanted.items()
        if r.values["customer_name"] and not found[k][1] and k not in new
    ]
    if fill:
        conn.execute(
            update(_customer).where(_customer.c.id == bindparam("cid")).values(name=bindparam("new_name")), fill
        )
    return {k: v[0] for k, v in found.items()}


DATETIMES = frozenset(("purchased_at", "delivered_at", "validity_ends_at", "invoice_received_at", "refreshed_at"))


def _sqlite_datetime(v: datetime | None) -> str | None:
    """What SQLAlchemy binds for a UTC datetime on SQLite (UTCDateTime, then
    SQLite's DATETIME storage format), at a fraction of the cost: the bulk
    insert's hot spot. tests/test_orders_import.py pins the equality."""
    return None if v is None else v.replace(tzinfo=None).isoformat(" ", "microseconds")


def _ready_datetimes(conn: Connection, rows: list[dict[str, Any]]) -> frozenset[str]:
    """Convert the (UTC) datetime parameters to the driver's form in place;
    the names converted (PostgreSQL's driver takes aware datetimes as they are)."""
    if conn.dialect.name != "sqlite":
        return frozenset()
    for row in rows:
        for name in DATETIMES:
            row[name] = _sqlite_datetime(row[name])
    return DATETIMES


def _columns(r: OrderRow, customer_id: int) -> dict[str, Any]:
    out = {col: r.values[f] for f, col in COLUMN.items()}
    out["customer_id"] = customer_id
    return out


def upsert(conn: Connection, rows: list[tuple[OrderRow, str]], *, source: str, now: datetime) -> Stored:
    """Create or update each (row, origin); the order numbers must be distinct.
    Runs in the caller's transaction."""
    out = Stored()
    if not rows:
        return out
    existing: dict[str, tuple[int, str | None]] = {}
    for part in _chunks([r.number for r, _ in rows]):
        for oid, number, h in conn.execute(
            select(_order.c.id, _order.c.number, _order.c.content_hash).where(_order.c.number.in_(part))
        ):
            existing[number] = (oid, h)
    hashes = {r.number: r.content_hash() for r, _ in rows}
    fresh = [(r, o) for r, o in rows if r.number not in existing]
    maybe = [(r, o) for r, o in rows if r.number in existing and existing[r.number][1] != hashes[r.number]]
    out.unchanged = len(rows) - len(fresh) - len(maybe)
    cids = _customer_ids(conn, [r for r, _ in fresh + maybe], now) if fresh or maybe else {}
    if fresh:
        params = []
        for r, _o in fresh:
            row = _columns(r, cids[r.email_key])
            row.update(validity_days=30, source=source, refreshed_at=now, revision=1, content_hash=hashes[r.number])
            params.append(row)
        _INSERT_ORDER.run_many(conn, params, ready=_ready_datetimes(conn, params))
        out.created = len(fresh)
    if maybe:
        out.updated, same = _update(conn, maybe, existing, hashes, cids, source=source, now=now)
        out.unchanged += same
    out.linked = link_tickets(conn, [r.number for r, _ in rows], now=now, source=source)
    return out


def _update(
    conn: Connection,
    rows: list[tuple[OrderRow, str]],
    existing: dict[str, tuple[int, str | None]],
    hashes: dict[str, str],
    cids: dict[str, int],
    *,
    source: str,
    now: datetime,
) -> tuple[int, int]:
    """Rows whose hash differs: compare field by field; returns (updated, unchanged)."""
    ids = [existing[r.number][0] for r, _ in rows]
    cols = [_order.c[c] for c in COLUMN.values()]
    before: dict[int, dict[str, Any]] = {}
    for part in _chunks(ids):
        stmt = (
            select(_order.c.id, _order.c.revision, _customer.c.email, *cols)
            .join(_customer, _customer.c.id == _order.c.customer_id)
            .where(_order.c.id.in_(part))
        )
        for row in conn.execute(stmt).mappings():
            before[row["id"]] = dict(row)
    updates, events, hash_only = [], [], []
    for r, origin in rows:
        oid = existing[r.number][0]
        old = before[oid]
        changes: dict[str, list[Any]] = {}
        for f in STORED:
            if f == "customer_email":
                if old["email"].lower() != r.email_key:
                    changes[f] = [old["email"], r.values[f]]
                continue
            a, b = plain(old[COLUMN[f]]), plain(r.values[f])
            if a != b:
                changes[f] = [a, b]
        if not changes:
            hash_only.append({"oid": oid, "h": hashes[r.number]})
            continue
        revision = old["revision"] + 1
        values = _columns(r, cids[r.email_key])
        values.update(oid=oid, source=source, refreshed_at=now, revision=revision, content_hash=hashes[r.number])
        del values["number"]
        updates.append(values)
        events.append(
            {
                "order_id": oid,
                "revision": revision,
                "at": now,
                "source": source,
                "origin": origin[:500],
                "changes": json.dumps(changes, ensure_ascii=False),
            }
        )
    if updates:
        _UPDATE_ORDER.run_many(conn, updates, ready=_ready_datetimes(conn, updates))
        conn.execute(insert(table_of(OrderHistory)), events)
    if hash_only:
        conn.execute(
            update(_order).where(_order.c.id == bindparam("oid")).values(content_hash=bindparam("h")), hash_only
        )
    return len(updates), len(hash_only)


def link_tickets(conn: Connection, numbers: list[str], *, now: datetime, source: str) -> list[tuple[str, str]]:
    """Open tickets that quoted one of these (stored) order numbers and have
    no order yet are linked to it (event "order_linked"); a refund case not
    yet decided takes the order's policy."""
    linked: list[tuple[str, str]] = []
    for part in _chunks(numbers):
        rows = conn.execute(
            select(
                _ticket.c.id,
                _ticket.c.reference,
                _ticket.c.order_number,
                _ticket.c.kind,
                _ticket.c.status,
                _ticket.c.info_needed,
            ).where(
                _ticket.c.order_number.in_(part),
                _ticket.c.order_id.is_(None),
                _ticket.c.status != TicketStatus.CLOSED.value,
            )
        ).all()
        for tid, reference, number, kind, status, info_needed in rows:
            oid, brand = conn.execute(select(_order.c.id, _order.c.brand).where(_order.c.number == number)).one()
            values: dict[str, Any] = {"order_id": oid, "version": _ticket.c.version + 1, "updated_at": now}
            if info_needed == "order_number":
                values["info_needed"] = None
            if kind == TicketKind.REFUND.value:
                rc = table_of(RefundCase)
                case = conn.execute(select(rc.c.id, rc.c.decision).where(rc.c.ticket_id == tid)).first()
                if case is None or case.decision is None:  # a decided case keeps the policy it was decided under
                    values["brand"] = brand
                if case is not None and case.decision is None:
                    conn.execute(update(rc).where(rc.c.id == case.id).values(policy=brand))
            conn.execute(update(_ticket).where(_ticket.c.id == tid).values(values))
            history.record(conn, tid, None, "order_linked", now, status, status, order=number, source=source)
            linked.append((reference, number))
    return linked
