"""A demo build made in two processes (app/demo.py): a forked child draws
the stories and hands their rows over a chunk at a time as plain tuples;
this process converts them for the driver (the child is the longer of the
two) and writes each chunk while the child draws the next.

The random sequence is drawn in one process, story after story, exactly as
before: the desk is the same for a seed (tests/test_demo_bulk.py pins it).
A chunk ends on a story's end, so every row in it is final (an escalation
changes its complaint within the same story). Rows handed over are dropped
from the child's lists (their places kept: ids and message ids count them),
so neither process holds the whole desk.

Orders are written with their generated ids (the stored ids an import into
the empty desk gives them, in the same order), so the tickets' order ids
need no second look-up.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect
from sqlmodel import SQLModel

from app.demo_bulk import Load, Rows, write_values
from app.demo_data import DemoRow
from models import Customer, Message, Order, Quarantine, RefundCase, Ticket, TicketEvent, load_all, table_of

if TYPE_CHECKING:
    from multiprocessing.connection import Connection as Pipe

    from app.demo import _Builder

CHUNK = 10_000  # tickets per chunk handed over
QUEUED = 4  # chunks received and not yet written, at most
# the builder's lists, in the order they are written (each row's references written before it)
LISTS = (
    ("customers", Customer),
    ("orders", Order),
    ("tickets", Ticket),
    ("events", TicketEvent),
    ("messages", Message),
    ("refunds", RefundCase),
    ("quarantine", Quarantine),
)
# one chunk: [(table, the rows' keys, their raw values (Rows.raw))], the highest ticket id in it
Chunk = tuple[list[tuple[str, list[str], list[tuple[Any, ...]]]], int]


def build_in_child(
    conn: Connection, b: _Builder, generate: Callable[[Callable[[], None]], None], load: Load
) -> dict[str, int]:
    """Run `generate(hand_over)` in a forked child and write what it hands
    over; returns the tickets by kind. The child's failure is raised here."""
    import multiprocessing
    import pickle
    import queue
    import threading

    load_all()  # the chunks name any table (SQLModel.metadata.tables below)
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(b, generate, conn.dialect, send), daemon=True)
    child.start()
    send.close()
    prepared: dict[str, Rows] = {}  # the driver's conversions are made here: the child has enough to do
    # a thread takes each chunk off the pipe as it comes: the child's send would
    # otherwise wait for this process to finish writing the chunk before
    arrived: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED)

    def read() -> None:
        try:
            while True:
                arrived.put(recv.recv_bytes())
        except (EOFError, OSError):
            arrived.put(None)

    reader = threading.Thread(target=read, name="demo-chunks", daemon=True)
    reader.start()
    try:
        while True:
            data = arrived.get()
            if data is None:
                raise RuntimeError(f"the demo generator stopped (exit code {child.exitcode})")
            kind, payload = pickle.loads(data)
            if kind == "error":
                raise RuntimeError(f"the demo generator failed:\n{payload}")
            if kind == "done":
                counters, counts = payload
                assert isinstance(counts, dict)
                b.counters = counters
                break
            tables, top = payload
            for table, keys, raw in tables:
                if table not in prepared:
                    prepared[table] = Rows(conn.dialect, SQLModel.metadata.tables[table], keys)
                rows = prepared[table]
                write_values(conn, table, rows.names, map(rows.convert, raw) if rows.procs else raw)
            load.written(top)
        child.join()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
        while reader.is_alive():  # the pipe is closed at the child's end: the reader ends
            try:
                arrived.get(timeout=0.1)
            except queue.Empty:
                pass
        recv.close()
    return counts


def _child(b: _Builder, generate: Callable[[Callable[[], None]], None], dialect: Dialect, send: Pipe) -> None:
    try:
        out = _HandOver(b, dialect, send)
        generate(out)
        out.flush()
        send.send(("done", (b.counters, out.counts)))
    except BaseException:  # noqa: BLE001 - every failure goes to the writing process
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()


class _HandOver:
    """Called between stories: sends the rows made since the last hand-over
    once a chunk's worth of tickets is made."""

    def __init__(self, b: _Builder, dialect: Dialect, send: Pipe) -> None:
        self.b, self.dialect, self.send = b, dialect, send
        self.sent = dict.fromkeys((name for name, _ in LISTS), 0)
        self.rows: dict[str, Rows] = {}
        self.counts: dict[str, int] = {}
        self.customers: dict[int, DemoRow] = {}

    def __call__(self) -> None:
        if len(self.b.tickets) - self.sent["tickets"] >= CHUNK:
            self.flush()

    def flush(self) -> None:
        tables = []
        for name, model in LISTS:
            rows: list[DemoRow | None] = getattr(self.b, name)
            lo, hi = self.sent[name], len(rows)
            if lo == hi:
                continue
            part = [r for r in rows[lo:hi] if r is not None]
            if name == "customers":
                self.customers = {c["id"]: c for c in part}
            elif name == "orders":
                part = [order_row(o, self.customers[o["customer_id"]], self.b.now) for o in part]
            elif name == "tickets":
                for t in part:
                    self.counts[t["kind"]] = self.counts.get(t["kind"], 0) + 1
            table = table_of(model)
            if table.name not in self.rows:
                self.rows[table.name] = Rows(self.dialect, table, list(part[0]))
            prepared = self.rows[table.name]
            tables.append((prepared.table, list(part[0]), [prepared.raw(r) for r in part]))
            rows[lo:hi] = [None] * (hi - lo)
            self.sent[name] = hi
        self.send.send(("rows", (tables, self.sent["tickets"])))


def order_row(o: DemoRow, c: DemoRow, now: datetime) -> DemoRow:
    """A generated order as the shop's import stores it (app.orders: the
    contract's normalised fields, source "import", revision 1, the content
    hash a re-import compares), with its generated id."""
    from app.orders.fields import OrderRow
    from app.orders.store import COLUMN

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
    row = {"id": o["id"]} | {col: values[f] for f, col in COLUMN.items()}
    row.update(
        customer_id=c["id"],
        validity_days=o["validity_days"],
        source="import",
        refreshed_at=now,
        revision=1,
        content_hash=OrderRow(values).content_hash(),
    )
    return row
