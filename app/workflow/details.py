"""Changing a ticket's intake details (and its customer's contact details).

Each changed field writes one "field" event. Contact details and free text
are personal data, so their events say only which field changed; the other
fields record before/after. New values are validated like intake fields; a
complaint's `info_needed` is recomputed, so supplying the missing details
clears the flag.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app import history
from app.config import DeskConfig
from app.errors import AccessDenied, IllegalTransition, InputError
from app.identity import Actor
from app.workflow import regions
from app.workflow.guard import aware, begin, finish
from app.workflow.intake import info_needed_of, problems_of_ticket, validate_complaint
from app.workflow.outbox import customer_of
from models import Customer, Ticket, stored_id
from models.enums import TicketKind, TicketStatus

CUSTOMER_FIELDS = ("name", "email", "phone", "language")
TICKET_FIELDS = ("incident_date", "description", "inquiry_reference", "region", "subject", "priority")
PERSONAL = {"name", "email", "phone", "description", "subject"}


def _validated(changes: dict[str, object], t: Ticket) -> dict[str, object]:
    """The changes trimmed and checked (the intake's rules for contact and
    complaint details, a language code, a priority 1-3); one InputError
    naming every problem."""
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items()}
    checked = {
        k: v
        for k, v in clean.items()
        if k in ("name", "email", "phone", "description", "incident_date", "inquiry_reference", "region")
    }
    problems = [p for p in validate_complaint(**checked, received_at=t.received_at) if p.field in checked]
    if clean.get("language") and not (str(clean["language"]).isalpha() and 2 <= len(str(clean["language"])) <= 3):
        raise InputError(f"language must be a language code such as 'en' or 'et', got {clean['language']!r}")
    if clean.get("language"):
        clean["language"] = str(clean["language"]).lower()
    if "priority" in clean and clean["priority"] not in (1, 2, 3):
        raise InputError(f"priority must be 1 (high), 2 (normal) or 3 (low), got {clean['priority']!r}")
    if problems:
        raise InputError("; ".join(p.message for p in problems))
    return clean


def update_details(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig | None = None,
    **changes: object,
) -> list[str]:
    """Apply `changes` (field=value; None or '' clears an optional field);
    returns the fields that actually changed."""
    now = aware(now)
    unknown = sorted(set(changes) - set(CUSTOMER_FIELDS) - set(TICKET_FIELDS))
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r} (one of: {', '.join(CUSTOMER_FIELDS + TICKET_FIELDS)})")
    t = begin(session, actor, reference, expected_version, "work_tickets", "change ticket details")
    from app.workflow.escalations import reviewer_conflict  # late: escalations imports this package's modules

    conflict = reviewer_conflict(session, t, actor.id, actor.login)
    if conflict:  # no "refused" event: an event of the reviewer's on the complaint would itself make them a handler
        raise AccessDenied(conflict)
    if t.status == TicketStatus.CLOSED:
        raise IllegalTransition(f"{t.reference} is closed: its details can no longer change")
    clean = _validated(changes, t)
    c = customer_of(session, t)
    changed: list[str] = []
    for field, value in clean.items():
        if field in CUSTOMER_FIELDS:
            if c is None:
                c = Customer(email="", created_at=now)
                session.add(c)
                session.flush()
                t.customer_id = c.id
            target: Customer | Ticket = c
        else:
            target = t
        if field == "region":
            region = regions.parse(str(value)) if value else None
            value = region.value if region else None
        elif field == "email":
            value = value or ""  # the customer row always has an email column
        elif field != "priority":
            value = value or None
        old = getattr(target, field)
        if old == value:
            continue
        setattr(target, field, value)
        detail: dict[str, object] = {"field": field}
        if field not in PERSONAL:
            detail.update(before=old, after=value)
        history.record(session, stored_id(t), actor.login, "field", now, t.status, t.status, **detail)
        changed.append(field)
    if t.kind == TicketKind.COMPLAINT and changed:
        before = t.info_needed
        t.info_needed = info_needed_of(problems_of_ticket(session, t))
        if before != t.info_needed:
            history.record(
                session,
                stored_id(t),
                actor.login,
                "field",
                now,
                t.status,
                t.status,
                field="info_needed",
                before=before,
                after=t.info_needed,
            )
    if changed:
        finish(t, actor.login, now)
    return changed
