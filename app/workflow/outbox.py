"""Queuing customer-facing messages in the caller's transaction
(transactional outbox): the message exists exactly when the change that
caused it is committed; delivery happens later (app outbox sender)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, func, select
from sqlmodel import Session, col

from app import history
from app.config import DeskConfig
from app.prepared import Prepared
from app.workflow.templates import REPLY, Localized, Rendered, desk_values, render
from models import Customer, Message, Ticket, stored_id, table_of
from models.enums import DeliveryState, MessageKind


class TicketRef(Protocol):
    """What mail to a ticket's customer needs of the ticket: a stored Ticket,
    or intake's NewTicket before the ORM has loaded it."""

    @property
    def id(self) -> int | None: ...
    @property
    def reference(self) -> str: ...
    @property
    def customer_id(self) -> int | None: ...


def customer_of(session: Session, t: TicketRef) -> Customer | None:
    return session.get(Customer, t.customer_id) if t.customer_id else None


def base_values(session: Session, t: TicketRef, config: DeskConfig) -> dict[str, str]:
    """What every template of a ticket may use: its reference, the customer's
    name, and the desk's name and addresses (config)."""
    found = _CUSTOMER_NAME.scalar(session, {"cid": t.customer_id}) if t.customer_id else None
    name = (found or "").strip()
    return {"reference": t.reference, "customer_name": name or Localized("customer", "customer"), **desk_values(config)}


def customer_language(session: Session, t: TicketRef, config: DeskConfig) -> str:
    """The language the ticket's customer gets mail in (the desk's default when unknown)."""
    lang = _CUSTOMER_LANGUAGE.scalar(session, {"cid": t.customer_id}) if t.customer_id else None
    return (lang or config.desk.language or "en").lower()


_C, _M = table_of(Customer), table_of(Message)
_CUSTOMER_EMAIL = Prepared(select(_C.c.email).where(_C.c.id == bindparam("cid")))
_CUSTOMER_LANGUAGE = Prepared(select(_C.c.language).where(_C.c.id == bindparam("cid")))
_CUSTOMER_NAME = Prepared(select(_C.c.name).where(_C.c.id == bindparam("cid")))
_T = table_of(Ticket)
# automatic mails (no author) to one customer since an instant (ticket by customer, then its messages: both indexed)
_AUTOMATIC_SINCE = Prepared(
    select(func.count(_M.c.id))
    .select_from(_M.join(_T, _T.c.id == _M.c.ticket_id))
    .where(
        _T.c.customer_id == bindparam("cid"),
        _M.c.kind == MessageKind.OUTBOUND.value,
        _M.c.author.is_(None),
        _M.c.created_at > bindparam("since", type_=_M.c.created_at.type),
    )
)
AUTOMATIC_WINDOW = timedelta(hours=24)
_LAST_INBOUND_ID = Prepared(
    select(_M.c.message_id)
    .where(_M.c.ticket_id == bindparam("tid"), _M.c.kind == MessageKind.INBOUND.value, _M.c.message_id.is_not(None))
    .order_by(_M.c.created_at.desc(), _M.c.id.desc())
    .limit(1)
)
_INSERT_MESSAGE = Prepared.insert(_M, returning="id")


def queue_message(
    session: Session, t: TicketRef, rendered: Rendered, *, now: datetime, author: str | None, config: DeskConfig
) -> int | None:
    """Queue an outbound message; its id, or None (nothing queued) when the
    customer has no email address on file, or when the message is automatic
    (`author` None) and the customer already got `[mail] auto_replies_per_day`
    automatic mails in the last 24 hours (event "auto_reply_held"; RFC 3834:
    no loops). Prepared statements: intake queues questions on its hot path."""
    assert t.reference in rendered.subject, "every customer subject names the reference"
    if session.new or session.dirty:
        session.flush()  # the statements below read what the ORM may still hold
    email = _CUSTOMER_EMAIL.scalar(session, {"cid": t.customer_id}) if t.customer_id else None
    if not (email or "").strip():
        return None
    if author is None:
        cap = config.mail.auto_replies_per_day
        sent = _AUTOMATIC_SINCE.scalar(session, {"cid": t.customer_id, "since": now - AUTOMATIC_WINDOW})
        if sent >= cap:
            history.record(
                session,
                stored_id(t),
                None,
                "auto_reply_held",
                now,
                template=rendered.template,
                reason=f"{sent} automatic mails to this address in 24 hours (limit {cap})",
            )
            return None
    return int(
        _INSERT_MESSAGE.scalar(
            session,
            {
                "ticket_id": t.id,
                "kind": MessageKind.OUTBOUND.value,
                "from_addr": config.desk_address,
                "to_addr": email,
                "subject": rendered.subject,
                "body": rendered.body,
                "template": rendered.template,
                "author": author,
                "in_reply_to": _LAST_INBOUND_ID.scalar(session, {"tid": t.id}),
                "created_at": now,
                "delivery": DeliveryState.QUEUED.value,
                "next_attempt_at": now,
                "hold_until": hold_until(rendered, now, author, config),
            },
        )
    )


# The mail a person may take back while it is held: a free reply, whose
# sending is the whole change. Every other mail a person sends carries a
# workflow step taken in the same transaction (an acknowledgment stops a
# clock, a request for information pauses it, a proposed resolution or a
# final response closes or moves the complaint, a refund decision decides):
# taking that mail back would leave the step taken and the customer never
# told, so it is not held and cannot be recalled.
RECALLABLE_TEMPLATES = frozenset({REPLY})


def recallable(template: str | None) -> bool:
    """Whether a person's mail of `template` is held and may be taken back."""
    return template in RECALLABLE_TEMPLATES


def hold_until(rendered: Rendered, now: datetime, author: str | None, config: DeskConfig) -> datetime | None:
    """When a person's mail may first be sent (`[outbox] hold_seconds` after it
    was queued; until then it can be recalled). Automatic mail (no author) and
    mail that carries a workflow step (`recallable`) are not held."""
    if author is None or not recallable(rendered.template) or config.outbox_hold_seconds <= 0:
        return None
    return now + timedelta(seconds=config.outbox_hold_seconds)


def queue_rendered(
    session: Session, t: TicketRef, rendered: Rendered, *, now: datetime, author: str | None, config: DeskConfig
) -> Message | None:
    """`queue_message`, returning the queued Message (None when nothing was queued)."""
    mid = queue_message(session, t, rendered, now=now, author=author, config=config)
    return None if mid is None else session.get(Message, mid)


def queue(
    session: Session,
    t: TicketRef,
    template: str,
    *,
    now: datetime,
    author: str | None,
    config: DeskConfig,
    **values: object,
) -> Message | None:
    """Render `template` with the ticket's reference and customer name plus
    `values`, and queue it."""
    rendered = render_for(session, t, template, config=config, **values)
    return queue_rendered(session, t, rendered, now=now, author=author, config=config)


def render_for(session: Session, t: TicketRef, template: str, *, config: DeskConfig, **values: object) -> Rendered:
    """`template` for the ticket's customer: in their language, with the
    ticket's reference, the customer's name and the desk's values, plus `values`."""
    vals: dict[str, object] = {**base_values(session, t, config), **values}
    return render(template, lang=customer_language(session, t, config), config=config, **vals)


# -- what the console offers as a start for a reply ------------------------------------
def reply_templates(session: Session, t: Ticket, config: DeskConfig) -> dict[str, str]:
    """Templates an agent may start a reply from on ticket `t` in its current
    state, each filled strictly from the same data the workflow uses (name ->
    the core text; the reply itself adds the greeting and signature). Templates
    that belong to an action are never offered here: the progress update goes
    through Extend, the final response through an escalation's Final response,
    information requests, proposals, triage and refund mails through theirs."""
    from app.business_calendar import desk_calendar
    from app.workflow import templates as tpl
    from app.workflow.intake import missing_info_text
    from models.enums import TicketKind, TicketStatus

    S = TicketStatus
    cal = desk_calendar(config)
    offers: dict[str, dict[str, object]] = {}
    if t.kind == TicketKind.COMPLAINT and t.status in (
        S.ACKNOWLEDGED,
        S.INFORMATION_GATHERING,
        S.INVESTIGATION,
        S.RESOLUTION_PROPOSED,
    ):
        offers[tpl.ACKNOWLEDGMENT] = {
            "resolution_due": tpl.customer_date(cal, t.resolution_due_at),
            "missing_info": missing_info_text(t.info_needed),
        }
        offers[tpl.ESCALATION_NOT_POSSIBLE] = {"stage": tpl.stage(t.status)}
    if t.kind == TicketKind.COMPLAINT and t.status in (S.ESCALATED, S.CLOSED):
        esc = session.scalars(select(Ticket).where(col(Ticket.escalation_of_id) == t.id)).first()
        if esc is not None:
            offers[tpl.SECOND_ESCALATION] = {"escalation_reference": esc.reference}
    if t.kind == TicketKind.ESCALATION and t.status in (S.SUBMITTED, S.IN_REVIEW):
        complaint = session.get(Ticket, t.escalation_of_id) if t.escalation_of_id else None
        if complaint is not None:
            offers[tpl.ESCALATION_ACKNOWLEDGMENT] = {
                "complaint_reference": complaint.reference,
                "final_response_due": tpl.customer_date(cal, t.final_response_due_at),
            }
    if not offers:
        return {}
    base = base_values(session, t, config)
    lang = customer_language(session, t, config)
    return {
        name: tpl.render_core(name, lang=lang, config=config, **{**base, **extra}) for name, extra in offers.items()
    }
