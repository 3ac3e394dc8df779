"""Complaint, escalation and triage workflow services (no Textual).

Every mutating service: `fn(session, actor, reference, ..., *, expected_version, now, config)`;
it locks the ticket (optimistic locking), checks the role and the transition,
changes it, bumps its version, sets due_at/due_clock from the governing clock,
writes one TicketEvent per change and queues customer messages in the same
session. The caller's session commits. States and legal moves:
app/workflow/states.py.
"""

from app.workflow.actions import next_actions
from app.workflow.assignment import assign
from app.workflow.complaints import acknowledge, close, communicate, extend, move, propose, request_info
from app.workflow.details import update_details
from app.workflow.escalations import (
    EscalationOutcome,
    assign_reviewer,
    create_escalation,
    eligible_reviewers,
    final_response,
    ineligibility,
    take_review,
)
from app.workflow.intake import create_complaint, create_inquiry, validate_complaint
from app.workflow.merge import merge
from app.workflow.messages import TimelineItem, add_note, customer_replied, reply, timeline
from app.workflow.triage import reopen_as_complaint, triage

__all__ = [
    "EscalationOutcome",
    "TimelineItem",
    "acknowledge",
    "add_note",
    "assign",
    "assign_reviewer",
    "close",
    "communicate",
    "create_complaint",
    "create_escalation",
    "create_inquiry",
    "customer_replied",
    "eligible_reviewers",
    "extend",
    "final_response",
    "ineligibility",
    "merge",
    "move",
    "next_actions",
    "propose",
    "reopen_as_complaint",
    "reply",
    "request_info",
    "take_review",
    "timeline",
    "triage",
    "update_details",
    "validate_complaint",
]
