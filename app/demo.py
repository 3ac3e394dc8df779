"""A realistic demo desk, deterministic for a given seed and anchor time.

The stories are drawn in a forked process and handed over in chunks
(app/demo_pipeline.py), written in bulk while the next chunk is drawn
(app/demo_bulk.py: executemany or COPY, the derived tables' row triggers
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

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlmodel import Session

from app import demo_stages
from app.business_calendar import BusinessCalendar
from app.db import Desk, committed
from app.demo_builder import aware_utc
from app.demo_bulk import Laps, bulk_load, pg_undo, write_rows
from app.demo_complaints import ComplaintStories
from app.demo_data import COMPLAINT_MIX
from app.demo_pipeline import build_in_child
from app.demo_refunds import RefundStories
from app.errors import InputError
from app.identity import os_login
from models import (
    Customer,
    DeskSetting,
    Order,
    ReferenceCounter,
    Staff,
    Ticket,
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


# SQLite: the journal a build is written with (the desk is back in WAL mode after it)
BUILD_JOURNAL = "truncate"


@contextmanager
def build_session(desk: Desk) -> Iterator[Session]:
    """A session for `build_demo` that commits on success, rolls back on error
    (as `desk.session()`).

    SQLite: the build is written with a rollback journal, and the desk is in
    WAL mode again when the block ends (or fails). In WAL mode every page of
    the new desk was written twice, into the WAL during the build and again
    into the file at the checkpoint after the commit (at 1,000,000 tickets a
    4.6 GB WAL); with a rollback journal it is written once, straight into the
    file, and the journal holds only the few pages the empty desk had (a build
    cut short, even killed, is rolled back from it). When another connection
    holds the desk open the mode cannot change; the build then runs in WAL
    mode, as with `desk.session()`. While a build runs in rollback-journal
    mode no other esimdesk process can open the desk (it waits out its busy
    timeout and says the database is busy): a demo desk is built before use."""
    if desk.engine.dialect.name != "sqlite":
        with desk.session() as session:
            yield session
        return
    with desk.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        was = raw.execute("PRAGMA journal_mode").fetchone()[0]
        raw.execute(f"PRAGMA journal_mode = {BUILD_JOURNAL}")
        try:
            with Session(bind=conn, expire_on_commit=False) as session, committed(session):
                yield session
        finally:
            try:
                raw.execute(f"PRAGMA journal_mode = {was}")
            except sqlite3.OperationalError:  # a reader arrived: the next connection sets WAL (app.db)
                pass


def build_demo(
    session: Session, tickets: int, seed: int, now: datetime, cal: BusinessCalendar, login: str | None = None
) -> DemoResult:
    """Fill an empty desk. `now` anchors every generated instant."""
    import gc
    import time

    if tickets < 1:
        raise InputError("--tickets must be at least 1")
    if session.get_bind().dialect.name == "postgresql" and demo_stages.unfinished(session.connection()):
        pg_undo(session.connection())  # a build stopped part way: the desk as it was before it
    existing = session.scalar(select(func.count()).select_from(Ticket)) or 0
    if existing:
        raise InputError(f"the desk already has {existing} tickets; the demo fills an empty desk (use a new --db)")
    if session.scalar(select(func.count()).select_from(Staff)):
        raise InputError("the desk already has staff; the demo fills an empty desk (use a new --db)")
    if session.scalar(select(func.count()).select_from(Customer)) or session.scalar(
        select(func.count()).select_from(Order)
    ):
        raise InputError("the desk already has customers or orders; the demo fills an empty desk (use a new --db)")
    started = time.perf_counter()
    lap = Laps()
    now = aware_utc(now).replace(microsecond=0)
    b = _Builder(tickets, seed, now, cal, login or os_login())
    b.build_staff()
    conn = session.connection()
    # millions of rows, none of them in a cycle: the collector's full passes over
    # them would cost more than making them
    collecting = gc.isenabled()
    gc.disable()
    try:
        with bulk_load(conn, lap) as load:
            write_rows(conn, table_of(Staff), b.staff)
            counts = build_in_child(conn, b, lambda between: _generate(b, tickets, between), load)
            lap("generate and write")
            if load.fill_seconds:
                lap.update({"  of which search fill": load.fill_seconds})
    finally:
        if collecting:
            gc.enable()
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
    return DemoResult(
        tickets=sum(counts.values()), counts=counts, seconds=time.perf_counter() - started, phases=dict(lap)
    )


def _generate(b: _Builder, tickets: int, between: Callable[[], None]) -> None:
    """Every story, drawn in turn from the builder's one random sequence;
    `between()` after each one."""
    from app.refunds import decide

    plans = [p for p, _ in COMPLAINT_MIX]
    weights = [w for _, w in COMPLAINT_MIX]
    rng = b.rng
    while len(b.tickets) < tickets:
        r = rng.random()
        room = tickets - len(b.tickets)
        if r < 0.52:
            plan = rng.choices(plans, weights)[0]
            if room < 2 and plan in ("escalated", "closed_final"):
                plan = "investigation"
            b.complaint(plan)
        elif r < 0.80:
            b.refund(decide)  # not memoised: no two refunds' facts are alike (their instants)
        else:
            b.inquiry()
        between()
    b.quarantined(max(3, tickets // 500))
