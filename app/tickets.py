"""Loading tickets and writing them safely (optimistic locking).

Every change to a ticket goes through `lock` + `touch`:
- `lock(session, reference, expected_version)` reads the row for update
  (SELECT … FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds
  the write lock) and refuses with StaleTicket if someone changed it since the
  caller read version `expected_version`;
- `touch(ticket, actor, now)` bumps the version and records who changed it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from app.errors import IllegalTransition, NotFound, StaleTicket
from app.prepared import Prepared
from models import Ticket, table_of


def utcnow() -> datetime:
    return datetime.now(UTC)


def get(session: Session, reference: str) -> Ticket:
    ticket = session.scalars(select(Ticket).where(col(Ticket.reference) == reference.strip().upper())).first()
    if ticket is None:
        raise NotFound(f"no ticket {reference!r}")
    return ticket


def survivor_reference(session: Session, reference: str) -> str | None:
    """The reference a lookup of `reference` lands on: the ticket it was merged
    into (app/workflow/merge.py), else its own (normalised); None when there is
    no such ticket. One indexed query; merges are flattened, so one hop."""
    row = _SURVIVOR.first(session, {"reference": reference.strip().upper()})  # prepared: intake asks per reply
    if row is None:
        return None
    if row[1] is None:
        return str(row[0])
    return str(_REFERENCE_OF.scalar(session, {"tid": row[1]}) or row[0])


_T = table_of(Ticket)
_SURVIVOR = Prepared(select(_T.c.reference, _T.c.merged_into_id).where(_T.c.reference == bindparam("reference")))
_REFERENCE_OF = Prepared(select(_T.c.reference).where(_T.c.id == bindparam("tid")))


def resolve(session: Session, reference: str) -> Ticket:
    """`get`, following a merged ticket to the one it joined (what a person
    looking a reference up means: `ticket show`, opening it in the console,
    a customer's reply quoting it)."""
    return get(session, survivor_reference(session, reference) or reference)


def version_of(session: Session, ticket_id: int) -> tuple[int, str | None] | None:
    """A ticket's version and who changed it last (a screen's cheap "moved?" poll)."""
    row = session.execute(
        select(col(Ticket.version), col(Ticket.updated_by)).where(col(Ticket.id) == ticket_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def lock(session: Session, reference: str, expected_version: int | None = None) -> Ticket:
    """The ticket, locked for this transaction; StaleTicket if it moved on;
    IllegalTransition naming where it went if it was merged into another."""
    stmt = (
        select(Ticket)
        .where(col(Ticket.reference) == reference.strip().upper())
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    ticket = session.scalars(stmt).first()
    if ticket is None:
        raise NotFound(f"no ticket {reference!r}")
    if ticket.merged_into_id is not None:  # nothing changes a merged ticket again: its work goes on where it joined
        into = session.scalar(select(col(Ticket.reference)).where(col(Ticket.id) == ticket.merged_into_id))
        raise IllegalTransition(f"{ticket.reference} was merged into {into}: work on {into}")
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicket(ticket.reference, ticket.updated_by, ticket.updated_at)
    return ticket


def touch(ticket: Ticket, actor: str | None, now: datetime) -> None:
    if actor is not None:  # a person worked on it: the queue's mail marker (reopened, bounced...) has been seen
        ticket.mail_flag = None
    ticket.version += 1
    ticket.updated_at = now
    ticket.updated_by = actor
