"""The shop's order lookup (the shared orders contract "Lookup"): `[orders] lookup`
is an argv whose `{order}` is replaced by the order number; the command
prints one order as a JSON object, which passes the import's validation and
is stored the same way (source "lookup").

A failure (the command missing, a non-zero exit, a timeout, output that is
not one valid order) is one line; on a ticket it is one history event
("order_lookup_failed"). Callers in the console run this in a worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from app import history
from app.config import OrdersConfig
from app.errors import InputError
from app.orders.fields import validate_row
from app.orders.store import upsert
from app.untrusted import inert
from models import Order, Ticket, table_of

MAX_OUTPUT = 1_000_000  # bytes of stdout read from the command


class LookupFailed(Exception):
    """One line saying why the lookup gave no order."""


@dataclass(frozen=True)
class LookupResult:
    ok: bool
    line: str  # what happened, one line (shown on the ticket)
    order_number: str
    outcome: str | None = None  # created | updated | unchanged


def _first_line(text: str) -> str:
    line = next((x for x in text.splitlines() if x.strip()), "")
    return inert(line, limit=160, single_line=True)


def run_command(config: OrdersConfig, number: str) -> dict[str, Any]:
    """Run the lookup command for one order number; its JSON object, or LookupFailed."""
    if not config.lookup:
        raise LookupFailed("no order lookup is configured ([orders] lookup)")
    argv = [a.replace("{order}", number) for a in config.lookup]
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except OSError as exc:
        raise LookupFailed(f"order lookup for {number}: cannot run {argv[0]}: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=config.timeout_seconds)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the command and anything it started
        except OSError:
            proc.kill()
        proc.communicate()
        raise LookupFailed(f"order lookup for {number} timed out after {config.timeout_seconds:g} s") from None
    if proc.returncode != 0:
        why = _first_line(err.decode("utf-8", "replace"))
        raise LookupFailed(f"order lookup for {number} failed (exit {proc.returncode})" + (f": {why}" if why else ""))
    try:
        obj = json.loads(out[:MAX_OUTPUT].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise LookupFailed(
            f"order lookup for {number} printed no JSON object: {_first_line(out.decode('utf-8', 'replace')) or '(nothing)'}"
        ) from None
    if not isinstance(obj, dict):
        raise LookupFailed(f"order lookup for {number} printed JSON that is not an object")
    return obj


def fetch_order(engine: Engine, config: OrdersConfig, number: str, *, now: datetime) -> LookupResult:
    """Look the order up and store it; LookupFailed when it cannot."""
    number = number.strip().upper()
    obj = run_command(config, number)
    row, errors = validate_row(obj)
    if row is None:
        raise LookupFailed(
            f"order lookup for {number}: " + "; ".join(f"{e.field or 'row'}: {e.reason}" for e in errors)
        )
    if row.number != number:
        raise LookupFailed(f"order lookup for {number} answered for another order ({row.number})")
    with engine.begin() as conn:
        done = upsert(conn, [(row, "lookup " + config.lookup[0])], source="lookup", now=now)
        if done.unchanged:  # the shop confirmed what the desk holds: fresh as of now
            conn.execute(
                update(table_of(Order))
                .where(table_of(Order).c.number == number)
                .values(refreshed_at=now, source="lookup")
            )
    outcome = "created" if done.created else "updated" if done.updated else "unchanged"
    return LookupResult(True, f"order {number} looked up: {outcome}", number, outcome)


def stale(order_refreshed_at: datetime | None, config: OrdersConfig, now: datetime) -> bool:
    return order_refreshed_at is None or now - order_refreshed_at > timedelta(minutes=config.max_age_minutes)


def ticket_order(engine: Engine, reference: str) -> tuple[int, str | None, datetime | None, bool]:
    """(ticket id, the order number it names, when that order was refreshed
    (None: not held), whether the ticket is linked) for one ticket."""
    with engine.connect() as conn:
        t = conn.execute(
            select(table_of(Ticket).c.id, table_of(Ticket).c.order_number, table_of(Ticket).c.order_id).where(
                table_of(Ticket).c.reference == reference.strip().upper()
            )
        ).first()
        if t is None:
            raise InputError(f"no ticket {reference!r}")
        tid, number, order_id = t
        o = table_of(Order)
        found = None
        if order_id is not None:
            found = conn.execute(select(o.c.number, o.c.refreshed_at).where(o.c.id == order_id)).first()
        elif number:
            found = conn.execute(select(o.c.number, o.c.refreshed_at).where(o.c.number == number)).first()
    if found is not None:
        return tid, found[0], found[1], order_id is not None
    return tid, number, None, False


def needs_lookup(engine: Engine, config: OrdersConfig, reference: str, now: datetime) -> bool:
    """A lookup is configured and the ticket names an order the desk lacks or holds stale."""
    if not config.lookup:
        return False
    _tid, number, refreshed, _linked = ticket_order(engine, reference)
    return bool(number) and stale(refreshed, config, now)


def refresh_for_ticket(
    engine: Engine, config: OrdersConfig, reference: str, *, now: datetime, actor: str | None = None
) -> LookupResult:
    """Look up the order a ticket names and record the result on the ticket
    (event "order_lookup" or "order_lookup_failed", one line)."""
    tid, number, _refreshed, _linked = ticket_order(engine, reference)
    if not number:
        raise InputError(f"{reference.strip().upper()} names no order number")
    try:
        result = fetch_order(engine, config, number, now=now)
    except LookupFailed as exc:
        result = LookupResult(False, str(exc), number)
    with engine.begin() as conn:
        # "reason": the key the ticket's timeline shows (app.workflow.messages), so the line is on the ticket
        history.record(
            conn,
            tid,
            actor,
            "order_lookup" if result.ok else "order_lookup_failed",
            now,
            None,
            None,
            order=number,
            reason=result.line,
        )
    return result
