"""Streaming ticket export (the shared export contract).

Tickets are read in keyset pages of `PAGE` rows ordered by id, so memory stays
flat however many tickets there are; each page's handlers come from one
query over the history.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple, TextIO, TypedDict

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.errors import InputError
from app.untrusted import spreadsheet_safe, terminal_safe_data
from models import Customer, Order, RefundCase, Staff, Ticket, TicketEvent
from models.enums import TicketKind, TicketStatus
from models.tables import stored_id

PAGE = 2000
FIELDS = [
    "reference",
    "kind",
    "status",
    "received_at",
    "acknowledged_at",
    "ack_due_at",
    "resolution_due_at",
    "final_response_due_at",
    "extensions",
    "closed_at",
    "escalation_of",
    "assignee",
    "reviewer",
    "handlers",
    "order_number",
    "customer_email",
    "policy",
    "outcome",
    "sla_state",
    "brand",
    "priority",
    "due_at",
    "due_clock",
    "region",
    "out_of_scope",
    "close_reason",
    "merged_into",
]


def mask_email(email: str | None) -> str | None:
    """j***@e***.com: first letters kept, the rest hidden, the top-level domain kept."""
    if not email:
        return email
    local, _, domain = email.partition("@")
    name, dot, tld = domain.rpartition(".")
    if not dot:
        name, tld = domain, ""
    masked_domain = (name[:1] + "***" + (("." + tld) if tld else "")) if domain else "***"
    return f"{local[:1]}***@{masked_domain}"


def iso_instant(value: datetime | None) -> str | None:
    """An instant as output text (export, the CLI's JSON): ISO 8601 in UTC, the same
    text for the same instant whether it was just computed (in the desk's zone) or
    read back from the database."""
    if value is None:
        return None
    return (value.astimezone(UTC) if value.tzinfo is not None else value).isoformat()


class ExportRow(TypedDict):
    """One ticket as exported (FIELDS, in order): instants as ISO text."""

    reference: str
    kind: str
    status: str
    received_at: str | None
    acknowledged_at: str | None
    ack_due_at: str | None
    resolution_due_at: str | None
    final_response_due_at: str | None
    extensions: int
    closed_at: str | None
    escalation_of: str | None
    assignee: str | None
    reviewer: str | None
    handlers: list[str]
    order_number: str | None
    customer_email: str | None
    policy: str | None
    outcome: str | None
    sla_state: str | None
    brand: str | None
    priority: int
    due_at: str | None
    due_clock: str | None
    region: str | None
    out_of_scope: str | None
    close_reason: str | None
    merged_into: str | None


class _Joined(NamedTuple):
    """A ticket and what the page query joins to it."""

    ticket: Ticket
    email: str | None
    order_number: str | None
    assignee: str | None
    reviewer: str | None
    escalation_of: str | None
    policy: str | None
    outcome: str | None
    merged_into: str | None


def _page_query(kind: str | None, status: str | None) -> Select[*tuple[Any, ...]]:  # rows read as _Joined
    """The tickets (of a kind, in a status) with their joined names, by id, one page."""
    assignee = aliased(Staff)
    reviewer = aliased(Staff)
    original = aliased(Ticket)
    survivor = aliased(Ticket)  # the ticket a merged one joined (app/workflow/merge.py)
    stmt = (
        select(
            Ticket,
            col(Customer.email),
            func.coalesce(col(Order.number), col(Ticket.order_number)),  # the quoted number until the order arrives
            col(assignee.login),
            col(reviewer.login),
            col(original.reference),
            col(RefundCase.policy),
            col(RefundCase.outcome),
            col(survivor.reference),
        )
        .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
        .outerjoin(Order, col(Order.id) == col(Ticket.order_id))
        .outerjoin(assignee, col(assignee.id) == col(Ticket.assignee_id))
        .outerjoin(reviewer, col(reviewer.id) == col(Ticket.reviewer_id))
        .outerjoin(original, col(original.id) == col(Ticket.escalation_of_id))
        .outerjoin(RefundCase, col(RefundCase.ticket_id) == col(Ticket.id))
        .outerjoin(survivor, col(survivor.id) == col(Ticket.merged_into_id))
        .order_by(col(Ticket.id))
        .limit(PAGE)
    )
    if kind:
        stmt = stmt.where(col(Ticket.kind) == kind)
    if status:
        stmt = stmt.where(col(Ticket.status) == status)
    return stmt


def _handlers(session: Session, ids: list[int]) -> dict[int, set[str]]:
    """Who has events on each ticket of a page (or on a ticket merged into it: app/history.py)."""
    who: dict[int, set[str]] = {}
    for tid, actor in session.execute(
        select(col(TicketEvent.ticket_id), col(TicketEvent.actor))
        .where(col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.actor).is_not(None))
        .distinct()
    ):
        who.setdefault(tid, set()).add(actor)
    merged = aliased(Ticket)  # the handlers of tickets merged into these count as theirs (app/history.py)
    for tid, actor in session.execute(
        select(col(merged.merged_into_id), col(TicketEvent.actor))
        .join(merged, col(merged.id) == col(TicketEvent.ticket_id))
        .where(col(merged.merged_into_id).in_(ids), col(TicketEvent.actor).is_not(None))
        .distinct()
    ):
        who.setdefault(tid, set()).add(actor)
    return who


def _row(j: _Joined, handlers: set[str], mask_pii: bool, now: datetime, at_risk_share: float) -> ExportRow:
    from app.clocks import ticket_sla_state

    t = j.ticket
    state = ticket_sla_state(t, now, at_risk_share)
    refund = t.kind == TicketKind.REFUND
    return {
        "reference": t.reference,
        "kind": t.kind,
        "status": t.status,
        "received_at": iso_instant(t.received_at),
        "acknowledged_at": iso_instant(t.acknowledged_at),
        "ack_due_at": iso_instant(t.ack_due_at),
        "resolution_due_at": iso_instant(t.resolution_due_at),
        "final_response_due_at": iso_instant(t.final_response_due_at),
        "extensions": t.extensions,
        "closed_at": iso_instant(t.closed_at),
        "escalation_of": j.escalation_of,
        "assignee": j.assignee,
        "reviewer": j.reviewer,
        "handlers": sorted(handlers),
        "order_number": j.order_number,
        "customer_email": mask_email(j.email) if mask_pii else j.email,
        "policy": j.policy if refund else None,
        "outcome": j.outcome if refund else None,
        "sla_state": state.value if state is not None else None,
        "brand": t.brand,
        "priority": t.priority,
        "due_at": iso_instant(t.due_at),
        "due_clock": t.due_clock,
        "region": t.region,
        "out_of_scope": t.out_of_scope,
        "close_reason": t.close_reason,
        "merged_into": j.merged_into,
    }


def iter_tickets(
    session: Session,
    kind: str | None = None,
    status: str | None = None,
    mask_pii: bool = False,
    now: datetime | None = None,
    at_risk_share: float = 0.25,
) -> Iterator[ExportRow]:
    from app.tickets import utcnow

    if kind is not None and kind not in {k.value for k in TicketKind}:
        raise InputError(f"unknown kind {kind!r} (complaint, escalation, refund, inquiry)")
    if status is not None and status not in {s.value for s in TicketStatus}:
        raise InputError(f"unknown status {status!r}")
    now = now or utcnow()
    stmt = _page_query(kind, status)
    last_id = 0
    while True:
        rows = [_Joined(*r) for r in session.execute(stmt.where(col(Ticket.id) > last_id))]
        if not rows:
            return
        ids = [stored_id(j.ticket) for j in rows]
        who = _handlers(session, ids)
        for j in rows:
            yield _row(j, who.get(stored_id(j.ticket), set()), mask_pii, now, at_risk_share)
        last_id = ids[-1]
        session.expunge_all()


def write_jsonl(rows: Iterator[ExportRow], out: TextIO) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(terminal_safe_data(row), ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(rows: Iterator[ExportRow], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        cells: dict[str, object] = {**row, "handlers": ";".join(row["handlers"])}
        writer.writerow({k: spreadsheet_safe(terminal_safe_data(v)) for k, v in cells.items()})
        n += 1
    return n


__all__ = ["FIELDS", "ExportRow", "iter_tickets", "mask_email", "write_csv", "write_jsonl"]
