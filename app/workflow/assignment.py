"""Assigning tickets to staff.

Anyone who works tickets may take an unassigned ticket (assign it to
themselves); assigning to someone else, or taking over an assigned ticket,
needs the supervisor's "reassign" permission. The target must be active and
able to work tickets. Escalations are assigned through the impartial reviewer
rule (escalations.assign_reviewer / take_review), never here; and the
reviewer of a complaint's escalation can never become the complaint's
assignee (refused and recorded).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app import history, tickets
from app.config import DeskConfig
from app.errors import AccessDenied, IllegalTransition, InputError, NotFound
from app.identity import PERMISSIONS, Actor
from app.workflow import escalations
from app.workflow.guard import aware, begin, finish, refuse
from models import Staff, Ticket, stored_id
from models.enums import TicketKind, TicketStatus


def assign(
    session: Session,
    actor: Actor,
    reference: str,
    login: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig | None = None,
) -> Ticket:
    now = aware(now)
    if actor is None:
        raise AccessDenied("assigning needs a staff member")
    peek = tickets.get(session, reference)
    if peek.kind == TicketKind.ESCALATION:
        if login == actor.login and not actor.can("reassign"):
            return escalations.take_review(
                session, actor, reference, expected_version=expected_version, now=now, config=config
            )
        return escalations.assign_reviewer(
            session, actor, reference, login, expected_version=expected_version, now=now, config=config
        )
    t = begin(session, actor, reference, expected_version, "work_tickets", "assign tickets")
    if t.status == TicketStatus.CLOSED:
        raise IllegalTransition(f"{t.reference} is closed")
    target = session.scalars(select(Staff).where(col(Staff.login) == (login or "").strip())).first()
    if target is None:
        raise NotFound(f"no staff member with login {login!r}")
    if not target.active:
        raise InputError(f"{target.login} is deactivated")
    if "work_tickets" not in PERMISSIONS.get(target.role, frozenset()):
        raise InputError(f"{target.login} ({target.role}) does not work tickets")
    conflict = escalations.reviewer_conflict(session, t, target.id, target.login)
    if conflict:
        refuse(session, t, actor.login, now, conflict, attempt="assign", target=target.login)
    self_take = target.id == actor.id and t.assignee_id in (None, actor.id)
    if not self_take and not actor.can("reassign"):
        raise AccessDenied(
            f"{actor.login} ({actor.role}) may take unassigned tickets only; reassigning is for supervisors"
        )
    if t.assignee_id == target.id:
        raise IllegalTransition(f"{t.reference} is already assigned to {target.login}")
    old = session.get(Staff, t.assignee_id) if t.assignee_id else None
    t.assignee_id = target.id
    history.record(
        session,
        stored_id(t),
        actor.login,
        "assign",
        now,
        t.status,
        t.status,
        before=old.login if old else None,
        after=target.login,
    )
    finish(t, actor.login, now)
    return t
