"""Creating complaints and inquiries, and checking a complaint's intake fields.

The policy ("How to File a Complaint") asks for: the date of contact or
incident, a clear description, and contact details (full name, email address,
phone number); an earlier inquiry reference is optional. From the console a
complaint with any missing or malformed field is refused, naming every one;
from email it is logged anyway, flagged `info_needed` (the missing fields),
and its acknowledgment asks the customer for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from dateutil import parser as dateparser
from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session, col

from app import history
from app.business_calendar import desk_calendar
from app.config import DeskConfig
from app.errors import InputError
from app.identity import Actor
from app.prepared import Prepared
from app.references import next_reference
from app.sla_clocks import ACK_BUSINESS_DAYS
from app.workflow import regions
from app.workflow.guard import aware, due_of
from models import Customer, Message, Order, Ticket, TicketEvent, table_of
from models.enums import MessageKind, TicketKind, TicketStatus

EMAIL_RE = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
PHONE_CHARS_RE = re.compile(r"^\+?[0-9 ()./-]+$")
MIN_DESCRIPTION = 20
DEFAULT_SUBJECT = "Complaint Regarding eSIM Service"
SOURCES = ("email", "console")

# field id -> what the customer is asked for
FIELD_LABELS: dict[str, str] = {
    "incident_date": "the date of contact or incident",
    "description": "a clear description of the problem (what happened, what you expected, the impact)",
    "name": "your full name",
    "email": "your email address",
    "phone": "a phone number where we can reach you",
}
CONTACT_FIELDS = ("name", "email", "phone")


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


def _blank(v: object) -> bool:
    return v is None or not str(v).strip()


def parse_incident_date(value: object) -> date:
    """YYYY-MM-DD, or a written date such as '3 March 2026' or '03/03/2026'
    (day first); InputError otherwise."""
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dateparser.parse(text, dayfirst=True, fuzzy=False, default=datetime(2000, 1, 1)).date()
    except (ValueError, OverflowError, TypeError):
        raise InputError(f"date of contact or incident {text!r} is not a date (e.g. 2026-03-03)") from None


def validate_complaint(
    *,
    name: object = None,
    email: object = None,
    phone: object = None,
    description: object = None,
    incident_date: object = None,
    inquiry_reference: object = None,
    region: object = None,
    received_at: datetime | None = None,
) -> list[FieldProblem]:
    """Every missing or malformed intake field, in the policy's order."""
    problems: list[FieldProblem] = []
    if _blank(incident_date):
        problems.append(FieldProblem("incident_date", "date of contact or incident is missing"))
    else:
        try:
            d = parse_incident_date(incident_date)
            if received_at is not None and d > received_at.date() and (d - received_at.date()).days > 1:
                problems.append(
                    FieldProblem("incident_date", f"date of contact or incident {incident_date!s} is in the future")
                )
        except InputError as exc:
            problems.append(FieldProblem("incident_date", str(exc)))
    if _blank(description):
        problems.append(FieldProblem("description", "description of the problem is missing"))
    elif len("".join(str(description).split())) < MIN_DESCRIPTION:
        problems.append(
            FieldProblem(
                "description",
                f"description of the problem is too short to investigate (at least {MIN_DESCRIPTION} characters)",
            )
        )
    if _blank(name):
        problems.append(FieldProblem("name", "full name is missing"))
    elif (
        "@" in str(name) or any(ch.isdigit() for ch in str(name)) or len(str(name).strip()) < 2 or len(str(name)) > 300
    ):
        problems.append(FieldProblem("name", f"full name {str(name)!r} does not look like a name"))
    if _blank(email):
        problems.append(FieldProblem("email", "email address is missing"))
    elif not EMAIL_RE.match(str(email).strip()) or len(str(email).strip()) > 320:
        problems.append(FieldProblem("email", f"email address {str(email)!r} is malformed"))
    if _blank(phone):
        problems.append(FieldProblem("phone", "phone number is missing"))
    else:
        digits = sum(ch.isdigit() for ch in str(phone))
        if not PHONE_CHARS_RE.match(str(phone).strip()) or not 7 <= digits <= 15:
            problems.append(
                FieldProblem("phone", f"phone number {str(phone)!r} is malformed (7 to 15 digits, optional leading +)")
            )
    if not _blank(inquiry_reference) and len(str(inquiry_reference).strip()) > 64:
        problems.append(FieldProblem("inquiry_reference", "inquiry reference is longer than 64 characters"))
    if not _blank(region):
        try:
            regions.parse(str(region))
        except InputError as exc:
            problems.append(FieldProblem("region", str(exc)))
    return problems


def problems_line(problems: list[FieldProblem]) -> str:
    return "complaint cannot be logged: " + "; ".join(p.message for p in problems)


def info_needed_of(problems: list[FieldProblem]) -> str | None:
    """The comma list stored in Ticket.info_needed (fields the customer must supply)."""
    fields = [p.field for p in problems if p.field in FIELD_LABELS]
    return ",".join(dict.fromkeys(fields)) or None


def missing_info_text(info_needed: str | None) -> str:
    """The acknowledgment's paragraph asking for what is missing ('' when nothing)."""
    if not info_needed:
        return ""
    from app.workflow.templates import Localized  # worded per the customer's language when rendered

    fields = [f for f in info_needed.split(",") if f]
    lines = [f"- {FIELD_LABELS.get(f, f)}" for f in fields]
    text = (
        "\nTo investigate your complaint we still need:\n"
        + "\n".join(lines)
        + "\nPlease reply to this email with these details.\n"
    )
    return Localized(text, "missing_info", fields=fields)


_CUSTOMER = table_of(Customer)
_FIND_CUSTOMER = Prepared(
    select(_CUSTOMER.c.id, _CUSTOMER.c.name, _CUSTOMER.c.phone)
    .where(func.lower(_CUSTOMER.c.email) == bindparam("email"))
    .order_by(_CUSTOMER.c.id)
    .limit(1)
)
_INSERT_CUSTOMER = Prepared.insert(_CUSTOMER, returning="id")
_FILL_CUSTOMER = Prepared(
    update(_CUSTOMER)
    .where(_CUSTOMER.c.id == bindparam("cid"))
    .values(  # only blanks (NULL or '') take the new value
        name=func.coalesce(func.nullif(_CUSTOMER.c.name, ""), bindparam("name")),
        phone=func.coalesce(func.nullif(_CUSTOMER.c.phone, ""), bindparam("phone")),
    )
)


def customer_id_for(
    session: Session,
    *,
    email: str | None,
    name: str | None,
    phone: str | None,
    now: datetime,
    language: str | None = None,
) -> int:
    """The id of the customer with this email (case-insensitive), blanks in
    its name and phone filled in; or of a new customer (with `language`, the
    one its first mail is written in, when known: intake would store it
    next). Core statements: this runs once per message on the intake path."""
    from app.mail.group_lookups import Known, lookups

    conn = session.connection()  # once: every statement below runs on it
    email_n = (email or "").strip()
    name_n = None if _blank(name) else str(name).strip()
    phone_n = None if _blank(phone) else str(phone).strip()
    group = lookups(session) if email_n else None  # an intake group's lookups, made once for its messages
    known: Known | None
    if group is not None and group.knows(email_n.lower()):
        known = group.customers.get(email_n.lower())
    else:
        row = _FIND_CUSTOMER.first(conn, {"email": email_n.lower()}) if email_n else None
        known = Known(row[0], bool(row[1]), bool(row[2])) if row is not None else None
    if known is None:
        lang = language[:8] if language else None
        cid = _INSERT_CUSTOMER.scalar(
            conn, {"email": email_n, "name": name_n, "phone": phone_n, "created_at": now, "language": lang}
        )
        if group is not None:
            group.customers[email_n.lower()], group.languages[cid] = Known(cid, bool(name_n), bool(phone_n)), lang
        return int(cid)
    if (name_n and not known.has_name) or (phone_n and not known.has_phone):
        _FILL_CUSTOMER.run(conn, {"cid": known.id, "name": name_n, "phone": phone_n})
        known.has_name, known.has_phone = known.has_name or bool(name_n), known.has_phone or bool(phone_n)
    return known.id


def _order_id(session: Session, order_number: str | None) -> int | None:
    if _blank(order_number):
        return None
    o = session.scalars(select(Order).where(col(Order.number) == str(order_number).strip().upper())).first()
    if o is None:
        raise InputError(f"no order {order_number!r}")
    return o.id


def _check_source(source: str, actor: Actor | None) -> None:
    """A complaint comes by email, or from the console by someone who works tickets."""
    if source not in SOURCES:
        raise InputError(f"unknown source {source!r} (email or console)")
    if source == "console":
        if actor is None:
            raise InputError("a complaint logged from the console needs the acting staff member")
        actor.require("work_tickets", "log complaints")


def log_complaint(
    session: Session,
    *,
    received_at: datetime,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    subject: str | None = None,
    description: str | None = None,
    incident_date: str | None = None,
    inquiry_reference: str | None = None,
    region: str | None = None,
    source: str = "email",
    actor: Actor | None = None,
    message: Message | None = None,
    order_number: str | None = None,
    priority: int = 2,
    config: DeskConfig | None = None,
    now: datetime | None = None,
    language: str | None = None,
) -> NewTicket:
    """Log a complaint (submitted, CMP-YYYY-NNNNNN; its acknowledgment clock, 2 business days, starts
    at `received_at`). From the console (`actor` works tickets) every field must be valid (InputError
    names each problem); by email it is logged whatever is missing, `info_needed` listing the missing
    contact/intake fields. `message` (the inbound mail, if any) is attached to the ticket."""
    aware(received_at, "received_at")
    now = aware(now or received_at)
    _check_source(source, actor)
    config = config or DeskConfig()  # the caller's config, else the built-in defaults (never a file)
    cal = desk_calendar(config)
    if message is not None and source == "email":
        email, name = email or message.from_addr, name or message.from_name
    problems = validate_complaint(
        name=name,
        email=email,
        phone=phone,
        description=description,
        incident_date=incident_date,
        inquiry_reference=inquiry_reference,
        region=region,
        received_at=received_at,
    )
    if problems and source == "console":
        raise InputError(problems_line(problems))
    bad = {p.field for p in problems}
    region_v = None if "region" in bad else regions.parse(region)
    customer_id = customer_id_for(
        session,
        email=None if "email" in bad else email,
        name=None if "name" in bad else name,
        phone=None if "phone" in bad else phone,
        now=now,
        language=language,
    )
    info_needed = info_needed_of(problems)
    values = dict(
        reference=next_reference(session, TicketKind.COMPLAINT, cal.local_date(received_at).year),
        kind=TicketKind.COMPLAINT.value,
        status=TicketStatus.SUBMITTED.value,
        subject=(subject or "").strip()[:500] or DEFAULT_SUBJECT,
        description=description,
        priority=priority,
        region=region_v.value if region_v else None,
        incident_date=None if _blank(incident_date) else str(incident_date).strip()[:32],
        inquiry_reference=None
        if _blank(inquiry_reference) or "inquiry_reference" in bad
        else str(inquiry_reference).strip(),
        info_needed=info_needed,
        customer_id=customer_id,
        order_id=_order_id(session, order_number),
        order_number=None if _blank(order_number) else str(order_number).strip().upper(),
        received_at=received_at,
        ack_due_at=cal.due_at(received_at, ACK_BUSINESS_DAYS),
        created_at=now,
        updated_at=now,
        updated_by=actor.login if actor else None,
    )
    return store_new(
        session, values, message, actor, now, source=source, info_needed=info_needed, region=values["region"]
    )


def log_inquiry(
    session: Session,
    *,
    received_at: datetime,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    subject: str | None = None,
    description: str | None = None,
    region: str | None = None,
    source: str = "email",
    actor: Actor | None = None,
    message: Message | None = None,
    now: datetime | None = None,
    config: DeskConfig | None = None,
    language: str | None = None,
) -> NewTicket:
    """Log a message that is not (yet) a complaint: kind inquiry, status
    submitted, reference INQ-…. Triage decides (out of scope, answered, or
    reopened as a complaint). Until then the acknowledgment clock (2 business
    days from receipt) runs, as app.sla_clocks/app.deadlines define it for
    inquiries: the message may be a complaint whose acknowledgment is due
    then. Closing it stops the clock; triage out of scope clears it."""
    aware(received_at, "received_at")
    now = aware(now or received_at)
    if source not in SOURCES:
        raise InputError(f"unknown source {source!r} (email or console)")
    if actor is not None:
        actor.require("work_tickets", "log inquiries")
    if message is not None:
        email = email or message.from_addr
        name = name or message.from_name
    try:
        region_v = regions.parse(region)
    except InputError:
        if source == "console":
            raise
        region_v = None
    customer_id = customer_id_for(session, email=email, name=name, phone=phone, now=now, language=language)
    cal = desk_calendar(config or DeskConfig())
    values = dict(
        reference=next_reference(session, TicketKind.INQUIRY, cal.local_date(received_at).year),
        kind=TicketKind.INQUIRY.value,
        status=TicketStatus.SUBMITTED.value,
        subject=(subject or "").strip()[:500],
        description=description,
        region=region_v.value if region_v else None,
        customer_id=customer_id,
        received_at=received_at,
        ack_due_at=cal.due_at(received_at, ACK_BUSINESS_DAYS),
        created_at=now,
        updated_at=now,
        updated_by=actor.login if actor else None,
    )
    return store_new(session, values, message, actor, now, source=source)


def create_complaint(session: Session, **fields: Any) -> Ticket:
    """`log_complaint`, returning the stored Ticket (for services and the console)."""
    return _stored_ticket(session, log_complaint(session, **fields).id)


def create_inquiry(session: Session, **fields: Any) -> Ticket:
    """`log_inquiry`, returning the stored Ticket."""
    return _stored_ticket(session, log_inquiry(session, **fields).id)


def _stored_ticket(session: Session, ticket_id: int) -> Ticket:
    t = session.get(Ticket, ticket_id)
    if t is None:  # just inserted in this transaction: cannot happen
        raise LookupError(f"ticket {ticket_id} is not stored")
    return t


@dataclass(frozen=True)
class NewTicket:
    """What the caller of a `log_*` function learns about the ticket it stored."""

    id: int
    reference: str
    kind: str
    status: str
    customer_id: int | None
    info_needed: str | None


_INSERT_TICKET = Prepared.insert(table_of(Ticket), returning="id")


def _ticket_with_event() -> Prepared:
    """PostgreSQL: the new ticket and its "created" event in one statement (one
    round trip instead of two; the same rows, written in the same order)."""
    ticket, event = table_of(Ticket), table_of(TicketEvent)
    columns = [c for c in ticket.columns if not c.primary_key]
    new = (
        insert(ticket)
        .values({c.name: bindparam(c.name, type_=c.type) for c in columns})
        .returning(ticket.c.id)
        .cte("new_ticket")
    )
    fields = ("at", "actor", "action", "from_status", "to_status", "detail")
    created = insert(event).from_select(
        ["ticket_id", *fields], select(new.c.id, *(bindparam(f"event_{f}", type_=event.c[f].type) for f in fields))
    )
    return Prepared(select(new.c.id).add_cte(created.cte("created_event")), _INSERT_TICKET.defaults)


_INSERT_TICKET_WITH_EVENT = _ticket_with_event()


def store_new(
    session: Session,
    values: dict[str, Any],
    message: Message | None,
    actor: Actor | None,
    now: datetime,
    **detail: Any,
) -> NewTicket:
    """Insert a new ticket (column values; its governing deadline is added
    here) with its inbound message and its "created" event. Core statements,
    no ORM object: this is the hot path of an intake batch."""
    values = {**_INSERT_TICKET.defaults, **values}
    values["due_at"], values["due_clock"] = due_of(SimpleNamespace(**values))
    login = actor.login if actor else None
    created = history.event_values(None, login, "created", now, None, values["status"], kind=values["kind"], **detail)
    with_event = session.get_bind().dialect.name == "postgresql"
    if with_event:  # one round trip: the ticket and its event
        events = {f"event_{k}": v for k, v in created.items() if k != "ticket_id"}
        tid = _INSERT_TICKET_WITH_EVENT.scalar(session, {**values, **events})
    else:
        tid = _INSERT_TICKET.scalar(session, values)
    t = NewTicket(
        tid, values["reference"], values["kind"], values["status"], values["customer_id"], values["info_needed"]
    )
    if message is not None:
        message.ticket_id = t.id
        message.kind = message.kind or MessageKind.INBOUND.value
        session.add(message)
    if not with_event:
        history.record(session, t.id, login, "created", now, None, t.status, kind=t.kind, **detail)
    return t


def problems_of_ticket(session: Session, t: Ticket) -> list[FieldProblem]:
    """The intake problems of a stored ticket (its fields and its customer's)."""
    c = session.get(Customer, t.customer_id) if t.customer_id else None
    return validate_complaint(
        name=c.name if c else None,
        email=c.email if c else None,
        phone=c.phone if c else None,
        description=t.description,
        incident_date=t.incident_date,
        inquiry_reference=t.inquiry_reference,
        region=t.region,
        received_at=t.received_at,
    )
