"""Which actions the console may offer now, for this ticket and this staff member.

The services enforce every rule anyway; this only decides what to show.
Pass `session` to filter take_review/assign by the impartiality rule.
"""
from __future__ import annotations

from sqlmodel import Session

from app.identity import Actor
from app.workflow import states
from app.workflow.triage import can_triage
from models import Ticket
from models.enums import TicketKind, TicketStatus

S = TicketStatus
ACTIONS = (
    "acknowledge", "request_info", "note", "investigate", "reply", "propose", "communicate", "extend", "escalate", "close", "triage",
    "reopen", "refund_wizard", "assign", "take_review", "final_response",
)


def next_actions(ticket: Ticket, actor: Actor, session: Session | None = None) -> list[str]:
    t, out = ticket, []
    work = actor.can("work_tickets")
    closed = t.status == S.CLOSED
    if work:
        out.append("note")
    if t.kind == TicketKind.COMPLAINT and work:
        if t.status == S.SUBMITTED:
            out.append("acknowledge")
        if t.status in states.REQUEST_INFO_FROM:
            out.append("request_info")
        # step 4: into investigation (from acknowledged or information gathering;
        # going back from a proposed resolution is the service's `move`, not offered here)
        if S.INVESTIGATION in states.allowed(t) and t.status != S.RESOLUTION_PROPOSED:
            out.append("investigate")
        if not closed:
            out.append("reply")
        if t.status == S.INVESTIGATION:
            out.append("propose")
        if t.status == S.RESOLUTION_PROPOSED:
            out.append("communicate")
        if t.acknowledged_at is not None and t.resolution_communicated_at is None and not closed and t.status != S.ESCALATED and (
            actor.can("extend") or t.assignee_id == actor.id
        ):
            out.append("extend")
        if t.status == S.RESOLUTION_COMMUNICATED:
            out.append("escalate")
        if states.CLOSE_REASONS.get(t.kind, {}).get(t.status) and t.status != S.ESCALATED:
            out.append("close")
    if t.kind == TicketKind.INQUIRY and work:
        if not closed:
            out += ["reply", "close"]
        if actor.can("triage"):
            out.append("reopen")
    if actor.can("triage") and can_triage(t):
        out.append("triage")
    if t.kind == TicketKind.REFUND and work and not closed:
        out.append("reply")
        if actor.can("refund_decide"):
            out.append("refund_wizard")
    if t.kind == TicketKind.ESCALATION and not closed:
        if t.reviewer_id is None and actor.can("review_escalations"):
            ok = True
            if session is not None:
                from app.workflow.escalations import ineligibility

                ok = ineligibility(session, t, actor) is None
            if ok:
                out.append("take_review")
        if t.reviewer_id == actor.id and t.status == S.IN_REVIEW:
            out += ["reply", "final_response"]
        if actor.can("reassign"):
            out.append("assign")
    elif not closed and work and t.kind != TicketKind.ESCALATION and (actor.can("reassign") or t.assignee_id is None):
        out.append("assign")
    return [a for a in ACTIONS if a in out]
