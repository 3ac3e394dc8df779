"""The complaint's 9 steps as guarded transitions (table in app/workflow/states.py).

Clocks: acknowledgment (2 business days from receipt) stops at
`acknowledge`, which starts the resolution clock (10 business days); the
resolution clock stops when the resolution is communicated (step 6).

Complaint clocks do not pause while we wait for the customer. The policy
counts the 10 business days from acknowledgment and puts information
gathering inside them ("conduct a thorough investigation, gather all
necessary information, and communicate our findings"); for complex issues it
promises progress updates and an updated timeframe instead. So
`request_info` sends the request and moves to information_gathering, and
when the wait makes the date unreachable the agent uses `extend` (reason, new
date, progress message). Pausing (app/workflow/waiting.py) is for refunds.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from app import history, tickets
from app.business_calendar import BusinessCalendar, desk_calendar
from app.config import DeskConfig
from app.errors import AccessDenied, IllegalTransition, InputError
from app.identity import Actor
from app.sla_clocks import RESOLUTION_BUSINESS_DAYS, validate_extension
from app.workflow import outbox, states
from app.workflow import templates as tpl
from app.workflow.guard import aware, begin, finish
from app.workflow.intake import missing_info_text
from app.workflow.messages import write_note
from models import Message, Staff, Ticket, stored_id
from models.enums import CloseReason, MessageKind, TicketKind, TicketStatus

S = TicketStatus
PROPOSAL_SUBJECT = "Proposed resolution"


def _login_of(session: Session, staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    s = session.get(Staff, staff_id)
    return s.login if s else None


def _status_event(session: Session, t: Ticket, login: str | None, now: datetime, to: str, **detail: object) -> None:
    before = t.status
    t.status = to
    history.record(session, stored_id(t), login, "status", now, before, to, **detail)


def acknowledge(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
) -> Ticket:
    """Step 2: acknowledgment queued (reference, resolution date, and a
    request for any missing intake details); the resolution clock starts.
    An unassigned complaint is assigned to the acknowledging agent."""
    now = aware(now)
    t = begin(session, actor, reference, expected_version, "work_tickets", "acknowledge complaints")
    states.check_kind(t, TicketKind.COMPLAINT, doing="acknowledge")
    states.check_move(t, S.ACKNOWLEDGED)
    cal = desk_calendar(config)
    t.acknowledged_at = now
    t.resolution_due_at = cal.due_at(now, RESOLUTION_BUSINESS_DAYS)
    if t.assignee_id is None:
        t.assignee_id = actor.id
        history.record(
            session, stored_id(t), actor.login, "assign", now, t.status, t.status, before=None, after=actor.login
        )
    msg = outbox.queue(
        session,
        t,
        tpl.ACKNOWLEDGMENT,
        now=now,
        author=actor.login,
        config=config,
        resolution_due=tpl.customer_date(cal, t.resolution_due_at),
        missing_info=missing_info_text(t.info_needed),
    )
    before = t.status
    t.status = S.ACKNOWLEDGED.value
    history.record(
        session,
        stored_id(t),
        actor.login,
        "acknowledged",
        now,
        before,
        t.status,
        ack_due_at=t.ack_due_at,
        resolution_due_at=t.resolution_due_at,
        message_id=msg.id if msg else None,
        info_needed=t.info_needed,
    )
    finish(t, actor.login, now)
    return t


def request_info(
    session: Session,
    actor: Actor,
    reference: str,
    request: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
) -> Message | None:
    """Ask the customer for information (step 3): the request is queued and
    the complaint moves to information_gathering. The clock keeps running
    (module docstring)."""
    now = aware(now)
    t = begin(session, actor, reference, expected_version, "work_tickets", "request information")
    states.check_kind(t, TicketKind.COMPLAINT, doing="request information")
    if t.status not in states.REQUEST_INFO_FROM:
        raise IllegalTransition(
            f"{t.reference} is {t.status}: information can be requested only when {', '.join(states.REQUEST_INFO_FROM)}"
        )
    if request is None or not str(request).strip():
        raise InputError("say what information the customer should send")
    msg = outbox.queue(
        session, t, tpl.INFORMATION_REQUEST, now=now, author=actor.login, config=config, request=request.strip()
    )
    if t.status != S.INFORMATION_GATHERING:
        _status_event(session, t, actor.login, now, S.INFORMATION_GATHERING.value)
    history.record(
        session,
        stored_id(t),
        actor.login,
        "reply",
        now,
        t.status,
        t.status,
        template=tpl.INFORMATION_REQUEST,
        message_id=msg.id if msg else None,
    )
    finish(t, actor.login, now)
    return msg


def _simple_move(session: Session, actor: Actor, t: Ticket, to: str, now: datetime) -> Ticket:
    states.check_move(t, to)
    _status_event(session, t, actor.login, now, to)
    finish(t, actor.login, now)
    return t


def propose(
    session: Session,
    actor: Actor,
    reference: str,
    text: str | None = None,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig | None = None,
) -> Ticket:
    """Step 5: the proposed resolution is formulated (kept as an internal
    note titled "Proposed resolution" until it is communicated)."""
    now = aware(now)
    t = begin(session, actor, reference, expected_version, "work_tickets", "propose resolutions")
    states.check_kind(t, TicketKind.COMPLAINT, doing="propose a resolution")
    states.check_move(t, S.RESOLUTION_PROPOSED)
    note_id = None
    if text is not None and str(text).strip():
        note_id = write_note(session, t, actor.login, str(text).strip(), now, subject=PROPOSAL_SUBJECT).id
    _status_event(session, t, actor.login, now, S.RESOLUTION_PROPOSED.value, proposal_note=note_id)
    finish(t, actor.login, now)
    return t


def latest_proposal(session: Session, t: Ticket) -> str | None:
    return session.scalars(
        select(col(Message.body))
        .where(
            col(Message.ticket_id) == t.id,
            col(Message.kind) == MessageKind.NOTE.value,
            col(Message.subject) == PROPOSAL_SUBJECT,
        )
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(1)
    ).first()


def communicate(
    session: Session,
    actor: Actor,
    reference: str,
    text: str | None = None,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
) -> Message | None:
    """Step 6: findings and proposed resolution sent to the customer
    (`text`, else the latest proposal note); the resolution clock stops."""
    now = aware(now)
    t = begin(session, actor, reference, expected_version, "work_tickets", "communicate resolutions")
    states.check_kind(t, TicketKind.COMPLAINT, doing="communicate a resolution")
    states.check_move(t, S.RESOLUTION_COMMUNICATED)
    body = (text or "").strip() or latest_proposal(session, t)
    if not body:
        raise InputError(f"{t.reference}: no proposed resolution to communicate; give its text")
    msg = outbox.queue(session, t, tpl.PROPOSED_RESOLUTION, now=now, author=actor.login, config=config, resolution=body)
    t.resolution_communicated_at = now
    _status_event(session, t, actor.login, now, S.RESOLUTION_COMMUNICATED.value, resolution_due_at=t.resolution_due_at)
    history.record(
        session,
        stored_id(t),
        actor.login,
        "reply",
        now,
        t.status,
        t.status,
        template=tpl.PROPOSED_RESOLUTION,
        message_id=msg.id if msg else None,
    )
    finish(t, actor.login, now)
    return msg


def close(
    session: Session,
    actor: Actor,
    reference: str,
    reason: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig | None = None,
    note: str | None = None,
) -> Ticket:
    """Close a complaint (accepted / no_reply / withdrawn, see states.CLOSE_REASONS)
    or an inquiry (answered / withdrawn). Final responses and out-of-scope
    closures have their own services."""
    now = aware(now)
    t = begin(session, actor, reference, expected_version, "work_tickets", "close tickets")
    reason = str(reason or "").strip()
    if not reason:
        raise InputError("closing needs a reason (accepted, no_reply, withdrawn, answered)")
    if reason in states.SERVICE_ONLY_REASONS:
        raise IllegalTransition(
            f"{reason} closes a ticket only through `{states.SERVICE_ONLY_REASONS[CloseReason(reason)]}`"
        )
    states.check_kind(t, TicketKind.COMPLAINT, TicketKind.INQUIRY, doing="close it here")
    states.check_close(t, reason)
    if reason == "no_reply" and t.kind == TicketKind.COMPLAINT:
        _check_no_reply(t, now, config or DeskConfig())
    if note:
        write_note(session, t, actor.login, note, now)
    before = t.status
    t.status, t.close_reason, t.closed_at = S.CLOSED.value, reason, now
    history.record(session, stored_id(t), actor.login, "closed", now, before, t.status, close_reason=reason)
    finish(t, actor.login, now)
    return t


def no_reply_allowed_from(t: Ticket, config: DeskConfig) -> datetime | None:
    """The first instant a complaint may close as no_reply: after
    `[complaints] no_reply_days` business days since the resolution was
    communicated (closing removes the customer's right to escalate)."""
    if t.resolution_communicated_at is None:
        return None
    cal = desk_calendar(config)
    return cal.due_at(t.resolution_communicated_at, config.complaints.no_reply_days) + timedelta(microseconds=1)


def _check_no_reply(t: Ticket, now: datetime, config: DeskConfig) -> None:
    start = no_reply_allowed_from(t, config)
    if start is None:
        raise IllegalTransition(
            f"{t.reference}: no resolution was communicated, so there is nothing to wait a reply for"
        )
    if now < start:
        cal = desk_calendar(config)
        raise IllegalTransition(
            f"{t.reference}: the customer has {config.complaints.no_reply_days} business days to answer the resolution "
            f"(and may escalate); no_reply closes it from {cal.local_date(start).isoformat()} on"
        )


MAX_EXTENSION_HORIZON_DAYS = 366  # nobody extends a complaint past a year from now


def _as_due(cal: BusinessCalendar, value: date | datetime | str, now: datetime) -> datetime:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InputError(f"new due date {value!r} is not YYYY-MM-DD") from None
    if isinstance(value, datetime):
        value = aware(value, "new due date")
    elif not isinstance(value, date):
        raise InputError(f"new due date must be a date, got {value!r}")
    day = cal.local_date(value) if isinstance(value, datetime) else value
    if day > cal.local_date(now) + timedelta(days=MAX_EXTENSION_HORIZON_DAYS):
        raise InputError(f"new due date {day.isoformat()} is more than a year away")
    return value if isinstance(value, datetime) else cal.end_of_local_day(value)


def _check_extendable(t: Ticket, actor: Actor) -> None:
    """Supervisors or the assigned agent, on a complaint whose resolution clock runs."""
    if not (
        actor.can("extend") or (actor.can("work_tickets") and t.assignee_id is not None and t.assignee_id == actor.id)
    ):
        raise AccessDenied(
            f"{actor.login} ({actor.role}) may not extend {t.reference}: supervisors or its assigned agent only"
        )
    states.check_kind(t, TicketKind.COMPLAINT, doing="extend the resolution deadline")
    if (
        t.acknowledged_at is None
        or t.resolution_communicated_at is not None
        or t.status == S.CLOSED
        or t.status == S.ESCALATED
    ):
        raise IllegalTransition(
            f"{t.reference} is {t.status}: only a running resolution clock (acknowledged, not yet communicated) can be extended"
        )


def _extended_due(
    cal: BusinessCalendar,
    t: Ticket,
    actor: Actor,
    new_due: date | datetime | str,
    reason: str,
    now: datetime,
    limit_days: int,
) -> tuple[datetime, datetime]:
    """(the date asked for, the new deadline): the end of a business day,
    later than the current one and now, within the assigned agent's limit."""
    due = _as_due(cal, new_due, now)
    asked = due
    if not cal.is_business_day(due):  # a deadline ends on a business day: the next one
        due = cal.end_of_local_day(cal.add_business_days(due, 1))
    validate_extension(t.resolution_due_at, due, reason)
    if due <= now:
        raise InputError("new due date must be in the future")
    if t.resolution_due_at is not None and not actor.can("extend"):
        limit = cal.due_at(t.resolution_due_at, limit_days)
        if due > limit:
            raise AccessDenied(
                f"{actor.login} may extend {t.reference} by at most {limit_days} business days past the current deadline "
                f"(to {cal.local_date(limit).isoformat()}); a longer extension needs a supervisor"
            )
    return asked, due


def extend(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    new_due: date | datetime | str,
    reason: str,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
) -> Ticket:
    """Extend a complex complaint's resolution deadline: supervisors, or the
    assigned agent. Needs a reason and a later date (a date means the end of
    that desk-local day; a day that is not a business day moves to the next
    business day, and the customer is told that real date). The assigned
    agent may go at most `[complaints] max_extension_days` business days past
    the current deadline; longer only a supervisor; never more than a year
    ahead. The customer gets a progress update with the new timeframe;
    `extensions` counts it; event "extend" with before/after."""
    now = aware(now)
    if actor is None:
        raise AccessDenied("extending a deadline needs a staff member")
    t = tickets.lock(session, reference, expected_version)
    _check_extendable(t, actor)
    cal = desk_calendar(config)
    asked, due = _extended_due(cal, t, actor, new_due, reason, now, config.complaints.max_extension_days)
    old = t.resolution_due_at
    msg = outbox.queue(
        session,
        t,
        tpl.PROGRESS_UPDATE,
        now=now,
        author=actor.login,
        config=config,
        reason=str(reason).strip(),
        new_due=tpl.customer_date(cal, due),
        old_due=tpl.customer_date(cal, old),
    )
    t.resolution_due_at = due
    t.extensions = (t.extensions or 0) + 1
    moved = {"asked": asked} if asked != due else {}
    history.record(
        session,
        stored_id(t),
        actor.login,
        "extend",
        now,
        t.status,
        t.status,
        before=old,
        after=due,
        reason=str(reason).strip(),
        message_id=msg.id if msg else None,
        extensions=t.extensions,
        **moved,
    )
    finish(t, actor.login, now)
    return t


def move(
    session: Session,
    actor: Actor,
    reference: str,
    status: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
    text: str | None = None,
    reason: str | None = None,
) -> Ticket:
    """Move a ticket to `status` through the service that owns that step
    (the CLI's `ticket move`). Escalation needs `escalate`; closing needs a reason."""
    from app.workflow import escalations  # late: escalations imports this package's modules

    status = str(status).strip().lower()
    if status not in {s.value for s in TicketStatus}:
        raise IllegalTransition(f"unknown status {status!r}")
    if status == S.ACKNOWLEDGED:
        return acknowledge(session, actor, reference, expected_version=expected_version, now=now, config=config)
    if status in (S.INFORMATION_GATHERING, S.INVESTIGATION):
        now = aware(now)
        t = begin(session, actor, reference, expected_version, "work_tickets", "move complaints")
        return _simple_move(session, actor, t, status, now)
    if status == S.RESOLUTION_PROPOSED:
        return propose(session, actor, reference, text, expected_version=expected_version, now=now, config=config)
    if status == S.RESOLUTION_COMMUNICATED:
        communicate(session, actor, reference, text, expected_version=expected_version, now=now, config=config)
        return tickets.get(session, reference)
    if status == S.CLOSED:
        if not reason:
            raise InputError(
                "closing needs a reason: use `ticket close REF --reason accepted|no_reply|withdrawn|answered`"
            )
        return close(session, actor, reference, reason, expected_version=expected_version, now=now, config=config)
    if status == S.ESCALATED:
        raise IllegalTransition(
            "a complaint is escalated by an escalation request: use `ticket escalate REF --reason ...`"
        )
    if status == S.IN_REVIEW:
        return escalations.take_review(
            session, actor, reference, expected_version=expected_version, now=now, config=config
        )
    t = tickets.get(session, reference)
    raise IllegalTransition(f"{t.reference} ({t.kind}) is {t.status}: cannot move to {status} here")


def assignee_login(session: Session, t: Ticket) -> str | None:
    return _login_of(session, t.assignee_id)


__all__ = [
    "acknowledge",
    "assignee_login",
    "close",
    "communicate",
    "extend",
    "latest_proposal",
    "move",
    "propose",
    "request_info",
]
