"""The review queue: the open escalations a senior may take (the impartiality
rule, `ineligibility`), and for one of them the complaint's resolution beside
the customer's reason. A read model: the escalation queue screen shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app import queue_query
from app.identity import Actor
from app.queue_query import QueueQuery, QueueRow
from app.workflow.complaints import latest_proposal
from app.workflow.escalations import ineligibility
from models import Message, Ticket, stored_id
from models.enums import MessageKind


def reviewable(session: Session, actor: Actor, now: datetime) -> list[QueueRow]:
    """Open escalations `actor` may review (all of them for a supervisor),
    each subject led by the escalated complaint's full reference."""
    rows = queue_query.page(session, QueueQuery(view="escalations", sort="due"), now, 0, 100_000)
    if not actor.can("review_escalations") and not actor.can("review_queue_view"):
        return []
    escalations = _by_id(session, [r.id for r in rows])
    complaints = _by_id(session, [t.escalation_of_id for t in escalations.values() if t.escalation_of_id])
    out = []
    for r in rows:
        t = escalations.get(r.id)
        if t is None:
            continue
        if actor.can("review_escalations"):
            if t.reviewer_id not in (None, actor.id):
                continue
            if t.reviewer_id != actor.id and ineligibility(session, t, actor) is not None:
                continue
        out.append(_with_complaint(r, complaints.get(t.escalation_of_id) if t.escalation_of_id is not None else None))
    return out


def _by_id(session: Session, ids: list[int]) -> dict[int, Ticket]:
    found: dict[int, Ticket] = {}
    for i in range(0, len(ids), 5_000):  # under PostgreSQL's parameter limit
        found.update(
            (stored_id(t), t) for t in session.scalars(select(Ticket).where(col(Ticket.id).in_(ids[i : i + 5_000])))
        )
    return found


def _with_complaint(row: QueueRow, orig: Ticket | None) -> QueueRow:
    """The row with the escalated complaint's full reference first in its
    subject (so even 80 columns show which complaint it escalates)."""
    if orig is None:
        return row
    rest = (row.subject or "").replace(orig.reference, "").replace("Escalation:", "").strip(" :-·")
    return row._replace(subject=f"{orig.reference}  {rest}".strip())


@dataclass
class SideBySide:
    reference: str
    complaint: str
    resolution: str
    reason: str


def side_by_side(session: Session, ticket_id: int) -> SideBySide:
    """The complaint's resolution (as proposed, else as communicated) beside
    the customer's first message on the escalation."""
    esc = session.get(Ticket, ticket_id)
    orig = session.get(Ticket, esc.escalation_of_id) if esc and esc.escalation_of_id else None
    resolution = latest_proposal(session, orig) if orig else None
    if orig and not resolution:  # what the customer was told (the communicated resolution)
        resolution = session.scalars(
            select(col(Message.body))
            .where(
                col(Message.ticket_id) == orig.id,
                col(Message.kind) == MessageKind.OUTBOUND.value,
                col(Message.template) == "proposed_resolution",
            )
            .order_by(col(Message.created_at).desc(), col(Message.id).desc())
            .limit(1)
        ).first()
    resolution = resolution or "(no resolution recorded)"
    first = session.scalars(
        select(col(Message.body))
        .where(col(Message.ticket_id) == ticket_id, col(Message.kind) == MessageKind.INBOUND.value)
        .order_by(col(Message.created_at), col(Message.id))
        .limit(1)
    ).first()
    reason = first or (esc.description if esc else None) or "(no reason given)"
    return SideBySide(esc.reference if esc else "?", orig.reference if orig else "?", resolution, reason)
