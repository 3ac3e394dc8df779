"""Escalation (policy steps 8 and 9): the request, the impartial senior
review, and the final response.

- An escalation is possible once the resolution was communicated (status
  resolution_communicated). One level only: a second request, or one that
  comes too early or after closure, is not refused with an error but logged
  on the complaint as correspondence (inbound message kept, "refused" event,
  a courteous reply queued) and reported in the returned outcome.
- The final-response clock (5 business days) starts at the request's receipt.
- Impartiality: only an active senior with no event at all on the original
  complaint, who was never its assignee, may take or be assigned the review.
  Supervisors may (re)assign only to such a senior. Every refused attempt is
  recorded on the escalation ("refused") and committed (guard.refuse).
- The final response closes the escalation and, with it, the complaint (that
  complaint event has no actor, so the reviewer never becomes its handler).

The request itself (create_escalation) lives in app/workflow/escalation_request.py
and is re-exported here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app import history, tickets
from app.config import DeskConfig
from app.errors import AccessDenied, IllegalTransition, InputError, NotFound
from app.identity import Actor
from app.workflow import outbox, states
from app.workflow import templates as tpl
from app.workflow.escalation_request import Document, DocumentFile, EscalationOutcome, create_escalation, escalation_of
from app.workflow.guard import aware, finish, refuse
from models import Staff, Ticket, TicketEvent
from models.enums import CloseReason, Role, TicketKind, TicketStatus
from models.tables import stored_id

S = TicketStatus


# -- impartiality ----------------------------------------------------------------
def _assigned_logins(session: Session, ticket_id: int) -> set[str]:
    out = set()
    for e in session.scalars(
        select(TicketEvent).where(history.of_ticket(ticket_id), col(TicketEvent.action) == "assign")
    ):
        after = history.detail_of(e).get("after")
        if after:
            out.add(after)
    return out


class Ineligible(str):
    """Why a person may not review an escalation: the words, and the reason's
    `code` for whoever words it differently (the ticket screen's "you handled
    this complaint"): "not_senior", "deactivated" or "handled" (acted on, or
    was assigned to, the complaint)."""

    code: str

    def __new__(cls, text: str, code: str) -> Ineligible:
        made = super().__new__(cls, text)
        made.code = code
        return made


def ineligibility(session: Session, escalation: Ticket, staff: Staff | Actor) -> Ineligible | None:
    """Why `staff` may not review `escalation` (None when eligible)."""
    login = staff.login
    if staff.role != Role.SENIOR.value:
        return Ineligible(f"{login} ({staff.role}) is not a senior reviewer", "not_senior")
    if isinstance(staff, Staff) and not staff.active:
        return Ineligible(f"{login} is deactivated", "deactivated")
    complaint = session.get(Ticket, escalation.escalation_of_id) if escalation.escalation_of_id else None
    if complaint is None:
        return None
    impartial = "the reviewer must not have been involved in the initial handling"
    if history.has_touched(session, stored_id(complaint), login):
        return Ineligible(f"{login} acted on {complaint.reference}: {impartial}", "handled")
    if complaint.assignee_id == staff.id or login in _assigned_logins(session, stored_id(complaint)):
        return Ineligible(f"{login} was assigned to {complaint.reference}: {impartial}", "handled")
    return None


def reviewer_conflict(session: Session, complaint: Ticket, staff_id: int | None, login: str) -> str | None:
    """Why `login` may not handle `complaint` (assignee, details): they review
    its escalation, before or after taking the review (None when they may)."""
    if complaint.kind != TicketKind.COMPLAINT.value or staff_id is None:
        return None
    esc = escalation_of(session, complaint)
    if esc is not None and esc.reviewer_id == staff_id:
        return (
            f"{login} reviews {esc.reference}, the escalation of {complaint.reference}: the reviewer never "
            "handles the complaint itself (impartial review)"
        )
    return None


def eligible_reviewers(session: Session, escalation: Ticket) -> list[Staff]:
    seniors = session.scalars(
        select(Staff)
        .where(col(Staff.role) == Role.SENIOR.value, col(Staff.active).is_(True))
        .order_by(col(Staff.login))
    )
    return [s for s in seniors if ineligibility(session, escalation, s) is None]


def _escalation(
    session: Session,
    actor: Actor | None,
    reference: str,
    expected_version: int | None,
    doing: str,
    *,
    open_only: bool = True,
) -> Ticket:
    """The escalation, locked for this transaction, for a staff member to act on."""
    if actor is None:
        raise AccessDenied(f"{doing} needs a staff member")
    t = tickets.lock(session, reference, expected_version)
    if t.kind != TicketKind.ESCALATION.value:
        raise IllegalTransition(f"{t.reference} is a {t.kind} ticket, not an escalation")
    if open_only and t.status == S.CLOSED:
        raise IllegalTransition(f"{t.reference} is closed (final response given)")
    return t


def take_review(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig | None = None,
) -> Ticket:
    """A senior takes an escalation's review (submitted -> in_review)."""
    now = aware(now)
    t = _escalation(session, actor, reference, expected_version, "taking a review")
    if t.reviewer_id is not None:
        who = session.get(Staff, t.reviewer_id)
        raise IllegalTransition(
            f"{t.reference} is already reviewed by {who.login if who else t.reviewer_id}; a supervisor may reassign it"
        )
    if not actor.can("review_escalations"):
        refuse(
            session,
            t,
            actor.login,
            now,
            f"{actor.login} ({actor.role}) may not review escalations: seniors only",
            attempt="take_review",
        )
    why = ineligibility(session, t, actor)
    if why:
        refuse(session, t, actor.login, now, why, attempt="take_review")
    states.check_move(t, S.IN_REVIEW)
    before = t.status
    t.reviewer_id = t.assignee_id = actor.id
    t.status = S.IN_REVIEW.value
    history.record(session, stored_id(t), actor.login, "review_taken", now, before, t.status, reviewer=actor.login)
    finish(t, actor.login, now)
    return t


def assign_reviewer(
    session: Session,
    actor: Actor,
    reference: str,
    login: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig | None = None,
) -> Ticket:
    """A supervisor assigns or reassigns an escalation to an eligible senior."""
    now = aware(now)
    t = _escalation(session, actor, reference, expected_version, "assigning a reviewer")
    if not actor.can("reassign"):
        refuse(
            session,
            t,
            actor.login,
            now,
            f"{actor.login} ({actor.role}) may not assign reviewers: supervisors only",
            attempt="assign_reviewer",
            target=login,
        )
    target = session.scalars(select(Staff).where(col(Staff.login) == login)).first()
    if target is None:
        raise NotFound(f"no staff member with login {login!r}")
    if t.reviewer_id == target.id:
        raise IllegalTransition(f"{t.reference} is already reviewed by {login}")
    why = ineligibility(session, t, target)
    if why:
        refuse(session, t, actor.login, now, why, attempt="assign_reviewer", target=login)
    old = session.get(Staff, t.reviewer_id) if t.reviewer_id else None
    before = t.status
    t.reviewer_id = t.assignee_id = target.id
    if t.status == S.SUBMITTED:
        t.status = S.IN_REVIEW.value
    history.record(
        session,
        stored_id(t),
        actor.login,
        "assign",
        now,
        before,
        t.status,
        before=old.login if old else None,
        after=target.login,
        role="reviewer",
    )
    finish(t, actor.login, now)
    return t


def _lock_complaint(session: Session, escalation: Ticket) -> Ticket:
    """The complaint an escalation is of, locked for this transaction."""
    original = session.get(Ticket, escalation.escalation_of_id) if escalation.escalation_of_id else None
    if original is None:
        raise NotFound(f"{escalation.reference}: the complaint it escalates is missing")
    return tickets.lock(session, original.reference, None)


def final_response(
    session: Session,
    actor: Actor,
    reference: str,
    text: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
) -> Ticket:
    """Step 9: the reviewer's final response is queued; the escalation and
    its complaint close (final_response)."""
    now = aware(now)
    t = _escalation(session, actor, reference, expected_version, "a final response", open_only=False)
    if t.status != S.IN_REVIEW:
        raise IllegalTransition(f"{t.reference} is {t.status}: a final response is given in review (in_review)")
    if t.reviewer_id != actor.id:
        refuse(
            session,
            t,
            actor.login,
            now,
            f"only the reviewer of {t.reference} may give its final response",
            attempt="final_response",
        )
    if text is None or not str(text).strip():
        raise InputError("the final response is empty")
    states.check_close(t, CloseReason.FINAL_RESPONSE)
    complaint = _lock_complaint(session, t)
    msg = outbox.queue(
        session,
        t,
        tpl.FINAL_RESPONSE,
        now=now,
        author=actor.login,
        config=config,
        response=str(text).strip(),
        complaint_reference=complaint.reference,
        reviewer_name=actor.name,
    )
    before = t.status
    t.final_response_at = t.closed_at = now
    t.status, t.close_reason = S.CLOSED.value, CloseReason.FINAL_RESPONSE.value
    history.record(
        session,
        stored_id(t),
        actor.login,
        "final_response",
        now,
        before,
        t.status,
        close_reason=t.close_reason,
        message_id=msg.id if msg else None,
        final_response_due_at=t.final_response_due_at,
    )
    finish(t, actor.login, now)
    if complaint.status == S.ESCALATED:
        states.check_close(complaint, CloseReason.FINAL_RESPONSE)
        cbefore = complaint.status
        complaint.status, complaint.close_reason, complaint.closed_at = (
            S.CLOSED.value,
            CloseReason.FINAL_RESPONSE.value,
            now,
        )
        # actor None on purpose: the reviewer must never appear among the complaint's handlers
        history.record(
            session,
            stored_id(complaint),
            None,
            "closed",
            now,
            cbefore,
            complaint.status,
            close_reason=complaint.close_reason,
            escalation=t.reference,
        )
        finish(complaint, None, now)
    return t


__all__ = [
    "Document",
    "DocumentFile",
    "EscalationOutcome",
    "Ineligible",
    "assign_reviewer",
    "create_escalation",
    "eligible_reviewers",
    "escalation_of",
    "final_response",
    "ineligibility",
    "reviewer_conflict",
    "take_review",
]
