"""Streaming ticket export (the shared export contract).

Tickets are read in keyset pages of `PAGE` rows ordered by id, so memory stays
flat however many tickets there are; each page's handlers come from one
query over the history.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.errors import InputError
from app.untrusted import spreadsheet_safe, terminal_safe_data
from models import Customer, Order, RefundCase, Staff, Ticket, TicketEvent
from models.enums import TicketKind, TicketStatus

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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def iter_tickets(
    session: Session,
    kind: str | None = None,
    status: str | None = None,
    mask_pii: bool = False,
    now: datetime | None = None,
    at_risk_share: float = 0.25,
) -> Iterator[dict]:
    from app.clocks import ticket_sla_state
    from app.tickets import utcnow

    if kind is not None and kind not in {k.value for k in TicketKind}:
        raise InputError(f"unknown kind {kind!r} (complaint, escalation, refund, inquiry)")
    if status is not None and status not in {s.value for s in TicketStatus}:
        raise InputError(f"unknown status {status!r}")
    now = now or utcnow()
    assignee = aliased(Staff)
    reviewer = aliased(Staff)
    original = aliased(Ticket)
    survivor = aliased(Ticket)  # the ticket a merged one joined (app/workflow/merge.py)
    stmt = (
        select(
            Ticket,
            Customer.email,
            func.coalesce(Order.number, Ticket.order_number),  # the quoted number until the order arrives
            assignee.login,
            reviewer.login,
            original.reference,
            RefundCase.policy,
            RefundCase.outcome,
            survivor.reference,
        )
        .outerjoin(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Order, Order.id == Ticket.order_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .outerjoin(reviewer, reviewer.id == Ticket.reviewer_id)
        .outerjoin(original, original.id == Ticket.escalation_of_id)
        .outerjoin(RefundCase, RefundCase.ticket_id == Ticket.id)
        .outerjoin(survivor, survivor.id == Ticket.merged_into_id)
        .order_by(Ticket.id)
        .limit(PAGE)
    )
    if kind:
        stmt = stmt.where(col(Ticket.kind) == kind)
    if status:
        stmt = stmt.where(col(Ticket.status) == status)
    last_id = 0
    while True:
        rows = session.execute(stmt.where(col(Ticket.id) > last_id)).all()
        if not rows:
            return
        ids = [r[0].id for r in rows]
        who: dict[int, set[str]] = {}
        for tid, actor in session.execute(
            select(col(TicketEvent.ticket_id), col(TicketEvent.actor))
            .where(col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.actor).is_not(None))
            .distinct()
        ):
            who.setdefault(tid, set()).add(actor)
        merged = aliased(Ticket)  # the handlers of tickets merged into these count as theirs (app/history.py)
        for tid, actor in session.execute(
            select(merged.merged_into_id, TicketEvent.actor)
            .join(merged, merged.id == TicketEvent.ticket_id)
            .where(merged.merged_into_id.in_(ids), TicketEvent.actor.is_not(None))
            .distinct()
        ):
            who.setdefault(tid, set()).add(actor)
        for t, email, order_number, assignee_login, reviewer_login, original_ref, policy, outcome, into in rows:
            state = ticket_sla_state(t, now, at_risk_share)
            yield {
                "reference": t.reference,
                "kind": t.kind,
                "status": t.status,
                "received_at": _iso(t.received_at),
                "acknowledged_at": _iso(t.acknowledged_at),
                "ack_due_at": _iso(t.ack_due_at),
                "resolution_due_at": _iso(t.resolution_due_at),
                "final_response_due_at": _iso(t.final_response_due_at),
                "extensions": t.extensions,
                "closed_at": _iso(t.closed_at),
                "escalation_of": original_ref,
                "assignee": assignee_login,
                "reviewer": reviewer_login,
                "handlers": sorted(who.get(t.id, ())),
                "order_number": order_number,
                "customer_email": mask_email(email) if mask_pii else email,
                "policy": policy if t.kind == TicketKind.REFUND else None,
                "outcome": outcome if t.kind == TicketKind.REFUND else None,
                "sla_state": state.value if state is not None else None,
                "brand": t.brand,
                "priority": t.priority,
                "due_at": _iso(t.due_at),
                "due_clock": t.due_clock,
                "region": t.region,
                "out_of_scope": t.out_of_scope,
                "close_reason": t.close_reason,
                "merged_into": into,
            }
        last_id = ids[-1]
        session.expunge_all()


def write_jsonl(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(terminal_safe_data(row), ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        row = dict(row)
        row["handlers"] = ";".join(row["handlers"])
        writer.writerow({k: spreadsheet_safe(terminal_safe_data(v)) for k, v in row.items()})
        n += 1
    return n


__all__ = ["FIELDS", "iter_tickets", "mask_email", "write_csv", "write_jsonl"]
