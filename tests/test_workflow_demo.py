"""The demo desk obeys the workflow's rules (issue 4, "done when")."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from app.export import iter_tickets
from app.workflow import states
from conftest import FROZEN_NOW
from models import Ticket, TicketEvent


def test_demo_escalations_are_impartial_and_states_legal(demo_desk):
    with demo_desk.reader() as s:
        rows = {r["reference"]: r for r in iter_tickets(s, now=FROZEN_NOW)}
        tickets = {t.id: t for t in s.scalars(select(Ticket))}
        events = defaultdict(list)
        for e in s.scalars(select(TicketEvent).order_by(TicketEvent.at, TicketEvent.id)):
            events[e.ticket_id].append(e)
        problems = []
        for t in tickets.values():
            r = rows[t.reference]
            if t.kind == "escalation":
                complaint = tickets[t.escalation_of_id]
                if r["reviewer"] and r["reviewer"] in rows[complaint.reference]["handlers"]:
                    problems.append(f"{t.reference}: reviewer {r['reviewer']} handled {complaint.reference}")
                if complaint.status not in ("escalated", "closed"):
                    problems.append(f"{complaint.reference} has escalation {t.reference} but is {complaint.status}")
            if t.close_reason == "out_of_scope" and (t.ack_due_at is not None or t.kind != "inquiry"):
                problems.append(f"{t.reference}: out of scope with a complaint clock or kind {t.kind}")
            if t.kind == "complaint":
                for e in events[t.id]:
                    if e.action == "status" and e.to_status not in states.COMPLAINT_MOVES.get(e.from_status, ()):
                        problems.append(f"{t.reference}: illegal move {e.from_status} -> {e.to_status}")
            if t.status == "closed" and t.due_at is not None:
                problems.append(f"{t.reference}: closed but due_at set")
        assert problems == [], problems[:10]
        assert any(t.kind == "escalation" for t in tickets.values())


def test_demo_every_open_refund_carries_a_clock(demo_desk):
    """Issue 17: no open refund without a running clock; the export's sla_state is never null for an open ticket."""
    with demo_desk.reader() as s:
        rows = list(iter_tickets(s, now=FROZEN_NOW))
    open_refunds = [r for r in rows if r["kind"] == "refund" and r["status"] != "closed"]
    assert {r["status"] for r in open_refunds} >= {"decided", "processing"}
    assert [r["reference"] for r in open_refunds if r["sla_state"] is None] == []
    assert [r["reference"] for r in rows if r["status"] != "closed" and r["sla_state"] is None] == []
