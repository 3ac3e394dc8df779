"""Internal notes, customer-facing replies, the customer's replies, and the
merged timeline the console shows.

A note (Message kind "note") is never sent; a reply (kind "outbound") is
queued in the outbox in the same transaction; an inbound message is the
customer's own text (untrusted: the timeline makes it inert).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from app import history, tickets
from app.business_calendar import desk_calendar
from app.config import DeskConfig
from app.errors import AccessDenied, InputError, NotFound
from app.identity import Actor
from app.prepared import Prepared
from app.untrusted import inert
from app.workflow import outbox, waiting
from app.workflow.guard import aware, begin, finish
from app.workflow.templates import Rendered
from models import Message, Ticket, TicketEvent
from models.enums import MessageKind, TicketKind, TicketStatus

MAX_TEXT = 20000


def _text(text: str | None, what: str) -> str:
    if text is None or not str(text).strip():
        raise InputError(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise InputError(f"{what} is longer than {MAX_TEXT} characters")
    return str(text)


def _reviewer_guard(session: Session, t: Ticket, actor: Actor) -> None:
    """The reviewer of a complaint's escalation works on the escalation, never
    on the complaint (an event there would break the impartiality record)."""
    if t.kind != TicketKind.COMPLAINT.value:
        return
    esc = session.scalars(select(Ticket).where(Ticket.escalation_of_id == t.id)).first()
    if esc is not None and esc.reviewer_id == actor.id:
        raise AccessDenied(f"{actor.login} reviews {esc.reference}: write on the escalation, not on the complaint {t.reference}")


def write_note(session: Session, t: Ticket, login: str | None, text: str, now: datetime, subject: str = "") -> Message:
    """The note itself plus its "note" event (no locking; for services)."""
    msg = Message(ticket_id=t.id, kind=MessageKind.NOTE.value, subject=subject, body=text, author=login, created_at=now)
    session.add(msg)
    session.flush()
    history.record(session, t.id, login, "note", now, t.status, t.status, message_id=msg.id, subject=subject or None)
    return msg


def add_note(
    session: Session, actor: Actor, reference: str, text: str, *, expected_version: int | None = None, now: datetime,
    config: DeskConfig | None = None,
) -> Message:
    """An internal note (never sent to the customer). Allowed on any ticket, open or closed."""
    now = aware(now)
    t = begin(session, actor, reference, expected_version, "work_tickets", "add notes")
    text = _text(text, "note")
    _reviewer_guard(session, t, actor)
    msg = write_note(session, t, actor.login, text, now)
    finish(t, actor.login, now)
    return msg


def reply(
    session: Session, actor: Actor, reference: str, text: str, *, expected_version: int | None = None, now: datetime,
    config: DeskConfig, subject: str | None = None,
) -> Message:
    """A free-text customer-facing reply, queued in the outbox."""
    now = aware(now)
    t = begin(session, actor, reference, expected_version, "work_tickets", "reply to customers")
    text = _text(text, "reply")
    _reviewer_guard(session, t, actor)
    if t.kind == TicketKind.ESCALATION.value and t.reviewer_id != actor.id:
        raise AccessDenied(f"only the reviewer of {t.reference} may write to the customer about it")
    subj = f"[{t.reference}] {' '.join((subject or t.subject or 'Your message').split())}"[:998]
    msg = outbox.queue_rendered(session, t, Rendered("reply", subj, text.rstrip() + "\n"), now=now, author=actor.login, config=config)
    if msg is None:
        raise InputError(f"{t.reference}: the customer has no email address on file; nothing can be sent")
    history.record(session, t.id, actor.login, "reply", now, t.status, t.status, message_id=msg.id, template="reply")
    finish(t, actor.login, now)
    return msg


@dataclass(frozen=True)
class ReplyLogged:
    """What `log_customer_reply` stored: the message, on which ticket."""

    ticket_id: int
    reference: str
    kind: str
    status: str
    order_id: int | None
    message_id: int


_T = Ticket.__table__
_REPLY_TARGET = Prepared(
    select(_T.c.id, _T.c.reference, _T.c.kind, _T.c.status, _T.c.paused_since.is_not(None), _T.c.order_id)
    .where(_T.c.reference == bindparam("reference")).with_for_update()  # FOR UPDATE on PostgreSQL; SQLite holds the write lock
)
_TOUCH = Prepared(
    update(_T).where(_T.c.id == bindparam("tid"))
    .values(version=_T.c.version + 1, updated_at=bindparam("now", type_=_T.c.updated_at.type), updated_by=None)
)
_INSERT_MESSAGE = Prepared.insert(Message.__table__, returning="id")


def log_customer_reply(session: Session, reference: str, row: dict, *, now: datetime, config: DeskConfig | None = None) -> ReplyLogged:
    """The customer wrote to an existing ticket (intake calls this with the
    message's column values): the message is stored, a "reply" event (actor
    None) is recorded and the ticket's version moves on; a ticket waiting on
    the customer resumes (its clock moves by the business days waited).
    Works on closed tickets too (the message is kept)."""
    now = aware(now)
    target = _REPLY_TARGET.first(session, {"reference": reference.strip().upper()})
    if target is None:
        raise NotFound(f"no ticket {reference!r}")
    tid, ref, kind, status, paused, order_id = target
    mid = _INSERT_MESSAGE.scalar(session, {**row, "ticket_id": tid, "kind": MessageKind.INBOUND.value,
                                           "created_at": row.get("created_at") or now})
    history.record(session, tid, None, "reply", now, status, status, message_id=mid, inbound=True)
    if paused and status != TicketStatus.CLOSED.value:
        from app.config import load_config

        t = tickets.lock(session, ref)
        waiting.resume(session, t, now, desk_calendar(config or load_config()))
        finish(t, None, now)
    else:
        _TOUCH.run(session, {"tid": tid, "now": now})
    return ReplyLogged(tid, ref, kind, status, order_id, mid)


def customer_replied(session: Session, reference: str, *, message: Message, now: datetime, config: DeskConfig | None = None) -> Ticket:
    """`log_customer_reply` for a Message object (it is stored as a new row;
    the object gets the row's id and ticket); returns the ticket."""
    logged = log_customer_reply(session, reference, message.model_dump(exclude={"id", "ticket_id", "kind"}), now=now, config=config)
    message.id, message.ticket_id, message.kind = logged.message_id, logged.ticket_id, MessageKind.INBOUND.value
    return session.get(Ticket, logged.ticket_id, populate_existing=True)


# -- the timeline ----------------------------------------------------------------
@dataclass(frozen=True)
class TimelineItem:
    kind: str  # "event", "inbound", "outbound", "note"
    actor: str | None
    at: datetime
    text: str  # plain text, inert (no control characters); display as text, never markup
    action: str | None = None  # events: the action
    subject: str | None = None  # messages
    delivery: str | None = None  # outbound: queued / sent / failed
    ref_id: int | None = None  # event id or message id
    hidden_chars: int = 0  # a long body cut to its preview: how many characters are not in `text`


def _event_text(e: TicketEvent) -> str:
    d = history.detail_of(e)
    parts = [e.action]
    if e.from_status and e.to_status and e.from_status != e.to_status:
        parts.append(f"{e.from_status} → {e.to_status}")
    for key in ("reason", "close_reason", "category", "before", "after", "template", "escalation", "complaint", "reviewer", "source", "info_needed"):
        if d.get(key) not in (None, "", []):
            parts.append(f"{key}: {d[key]}")
    return inert(" · ".join(str(p) for p in parts), single_line=True)


def timeline(session: Session, ticket_id: int, body_limit: int | None = None) -> list[TimelineItem]:
    """Events and messages of a ticket merged in time order (events before
    messages at the same instant). Event entries that only announce a message
    (note/reply) are kept: the history is shown whole.

    body_limit: read at most this many characters of each body from the
    database (a screen's preview; `hidden_chars` says how many were left)."""
    from sqlalchemy import func

    items: list[tuple] = []
    for e in history.events(session, ticket_id):
        items.append((e.at, 0, e.id, TimelineItem("event", e.actor, e.at, _event_text(e), action=e.action, ref_id=e.id)))
    body = Message.body if body_limit is None else func.substr(Message.body, 1, body_limit)
    length = func.length(Message.body) if body_limit is not None else None
    cols = [Message.id, Message.kind, Message.author, Message.from_name, Message.from_addr, Message.created_at,
            Message.subject, Message.delivery, body.label("body")] + ([length.label("length")] if length is not None else [])
    rows = session.execute(select(*cols).where(Message.ticket_id == ticket_id).order_by(Message.created_at, Message.id))
    for m in rows:
        who = m.author if m.kind != MessageKind.INBOUND.value else (m.from_name or m.from_addr)
        hidden = max(0, (m.length or 0) - body_limit) if body_limit is not None else 0
        items.append((
            m.created_at, 1, m.id,
            TimelineItem(m.kind, inert(who, single_line=True) or None, m.created_at, inert(m.body),
                         subject=inert(m.subject, single_line=True), delivery=m.delivery, ref_id=m.id, hidden_chars=hidden),
        ))
    items.sort(key=lambda x: (x[0], x[1], x[2]))
    return [i[3] for i in items]
