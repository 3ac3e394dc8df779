"""A demo desk's content as one digest, the same on both engines (tests/test_demo_bulk.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, text
from sqlmodel import Session

# the tables a demo build writes (the search and filter indexes are compared on their own)
TABLES = (
    "staff",
    "customer",
    "esim_order",
    "ticket",
    "ticket_event",
    "message",
    "refund_case",
    "quarantine",
    "reference_counter",
    "desk_setting",
    "wall_tally",
)


def _plain(v: Any) -> str:
    if isinstance(v, datetime):
        v = v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v
        return v.isoformat(sep=" ")
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float | Decimal):
        return f"{float(v):.6f}"
    return "" if v is None else str(v)


def fingerprint(session: Session) -> str:
    """sha256 over every row of TABLES, each table in key order, values engine-neutral."""
    conn = session.connection()
    insp = inspect(conn)
    h = hashlib.sha256()
    for name in TABLES:
        cols = sorted(c["name"] for c in insp.get_columns(name))
        keys = insp.get_pk_constraint(name)["constrained_columns"] or cols
        rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM {name} ORDER BY {', '.join(keys)}"))
        h.update(name.encode())
        for row in rows:
            h.update("\x1f".join(_plain(v) for v in row).encode() + b"\n")
    return h.hexdigest()
