"""Human-friendly, unique ticket references: CMP-2026-000123, ESC-…, RFD-…, INQ-….

Numbers come from a per-(prefix, year) counter row, incremented with a single
upsert inside the caller's transaction, so two consoles can never issue the
same reference (SQLite: the BEGIN IMMEDIATE write lock; PostgreSQL: the row
lock of ON CONFLICT DO UPDATE).
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlmodel import Session

from app.prepared import Prepared
from models.enums import REFERENCE_PREFIX, TicketKind

REFERENCE_RE = re.compile(r"\b(CMP|ESC|RFD|INQ)-(\d{4})-(\d{6,})\b")

_UPSERT = Prepared(
    text(
        "INSERT INTO reference_counter (prefix, year, last) VALUES (:prefix, :year, :n) "
        "ON CONFLICT (prefix, year) DO UPDATE SET last = reference_counter.last + :n "
        "RETURNING last"
    )
)


def format_reference(kind: TicketKind | str, year: int, number: int) -> str:
    return f"{REFERENCE_PREFIX[TicketKind(kind)]}-{year}-{number:06d}"


def reserve(session: Session, kind: TicketKind | str, year: int, count: int = 1) -> int:
    """Reserve `count` numbers; returns the first one."""
    prefix = REFERENCE_PREFIX[TicketKind(kind)]
    last = _UPSERT.scalar(session, {"prefix": prefix, "year": year, "n": count})
    return int(last) - count + 1


def next_reference(session: Session, kind: TicketKind | str, year: int) -> str:
    return format_reference(kind, year, reserve(session, kind, year))
