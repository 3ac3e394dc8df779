"""Human-friendly, unique ticket references: CMP-2026-000123, ESC-…, RFD-…, INQ-….

Numbers come from a per-(prefix, year) counter row, incremented with a single
upsert inside the caller's transaction, so two consoles can never issue the
same reference (SQLite: the BEGIN IMMEDIATE write lock; PostgreSQL: the row
lock of ON CONFLICT DO UPDATE).

Inside an unguarded intake group (app.grouped_writes: one transaction for
many messages, rolled back whole when any of them fails) only the group's
first reference of a (prefix, year) runs the upsert: the next ones count on
in memory, and the counter row is set to the last number issued just before
the group commits. The row stays locked by the first upsert until then, the
numbers are the ones the upserts would have given, and a group rolled back
forgets them with the rest of its writes.
"""

from __future__ import annotations

import re
from typing import Any

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


_SET_LAST = Prepared(
    text("UPDATE reference_counter SET last = :last WHERE prefix = :prefix AND year = :year AND last < :last")
)
_KEPT = "reference_counters"  # in an unguarded group's cache: (prefix, year) -> [last written, last issued]


def reserve(session: Session, kind: TicketKind | str, year: int, count: int = 1) -> int:
    """Reserve `count` numbers; returns the first one."""
    prefix = REFERENCE_PREFIX[TicketKind(kind)]
    kept = _kept(session)
    counter = None if kept is None else kept.get((prefix, year))
    if counter is not None:
        counter[1] += count
        return counter[1] - count + 1
    last = int(_UPSERT.scalar(session, {"prefix": prefix, "year": year, "n": count}))
    if kept is not None:
        kept[(prefix, year)] = [last, last]
    return last - count + 1


def _kept(session: Session) -> dict[tuple[str, int], list[int]] | None:
    """The counters the session's open unguarded group keeps in memory (None: none kept)."""
    writes: Any = session.info.get("grouped_writes")
    if writes is None:
        return None
    kept: dict[tuple[str, int], list[int]] | None = writes.cache.get(_KEPT)
    if writes.guarded:
        if kept:  # never both in one transaction (a failure rolls the group back); written, to be safe
            _write_kept(session, kept)
            del writes.cache[_KEPT]
        return None
    if kept is None:
        kept = writes.cache[_KEPT] = {}
        writes.before_commit(lambda: _write_kept(session, kept))
    return kept


def _write_kept(session: Session, kept: dict[tuple[str, int], list[int]]) -> None:
    for (prefix, year), (written, issued) in kept.items():
        if issued > written:
            _SET_LAST.run(session, {"prefix": prefix, "year": year, "last": issued})
    kept.clear()


def next_reference(session: Session, kind: TicketKind | str, year: int) -> str:
    return format_reference(kind, year, reserve(session, kind, year))
