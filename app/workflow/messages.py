"""Internal notes, customer-facing replies, the customer's replies, and the
merged timeline the console shows.

A note (Message kind "note") is never sent; a reply (kind "outbound") is
queued in the outbox in the same transaction; an inbound message is the
customer's own text (untrusted: the timeline makes it inert).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlmodel import Session, col

from app import history, labels, tickets
from app.business_calendar import desk_calendar
from app.config import DeskConfig
from app.errors import AccessDenied, InputError, NotFound
from app.identity import Actor
from app.prepared import Prepared
from app.untrusted import inert
from app.workflow import outbox, templates, waiting
from app.workflow.guard import aware, begin, finish
from models import Attachment, Message, Ticket, TicketEvent, table_of
from models.enums import MessageKind, TicketKind, TicketStatus
from models.tables import stored_id

if TYPE_CHECKING:
    from app.mail.attachments import OutgoingFile

MAX_TEXT = 20000

# A long body shows this much (read from the database no further), then one
# line saying how much is hidden; the whole text stays in `esimdesk ticket show`.
TIMELINE_PREVIEW_CHARS = 20_000


def _text(text: str | None, what: str) -> str:
    if text is None or not str(text).strip():
        raise InputError(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise InputError(f"{what} is longer than {MAX_TEXT} characters")
    return str(text)


def _reviewer_guard(session: Session, t: Ticket, actor: Actor) -> None:
    """The reviewer of a complaint's escalation works on the escalation, never
    on the complaint (an event there would break the impartiality record)."""
    from app.workflow.escalations import reviewer_conflict  # late: escalations imports this package's modules

    conflict = reviewer_conflict(session, t, actor.id, actor.login)
    if conflict:
        raise AccessDenied(conflict + "; write on the escalation")


def write_note(session: Session, t: Ticket, login: str | None, text: str, now: datetime, subject: str = "") -> Message:
    """The note itself plus its "note" event (no locking; for services)."""
    msg = Message(
        ticket_id=stored_id(t), kind=MessageKind.NOTE.value, subject=subject, body=text, author=login, created_at=now
    )
    session.add(msg)
    session.flush()
    _noted(session, stored_id(t), t.status, login, stored_id(msg), now, subject)
    return msg


def _noted(
    session: Session,
    ticket_id: int,
    status: str,
    login: str | None,
    message_id: int | None,
    now: datetime,
    subject: str,
) -> None:
    """The "note" event of a note just stored."""
    history.record(
        session, ticket_id, login, "note", now, status, status, message_id=message_id, subject=subject or None
    )


def add_note(
    session: Session,
    actor: Actor,
    reference: str,
    text: str,
    *,
    expected_version: int | None = None,
    now: datetime,
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
    session: Session,
    actor: Actor,
    reference: str,
    text: str,
    *,
    expected_version: int | None = None,
    now: datetime,
    config: DeskConfig,
    subject: str | None = None,
    attachments: list[OutgoingFile] | None = None,
) -> Message:
    """A customer-facing reply, queued in the outbox: the agent's text is the
    body of the "reply" template, which greets and signs (a greeting or
    sign-off of the agent's own is dropped, so neither appears twice).
    `attachments` (app.mail.attachments.OutgoingFile) are stored with the
    message and sent as MIME parts, within `[mail] max_attachment_bytes`."""
    from app.mail.attachments import check_outgoing

    now = aware(now)
    t = begin(session, actor, reference, expected_version, "work_tickets", "reply to customers")
    text = _text(text, "reply")
    files = list(attachments or ())
    check_outgoing(files, config.mail.max_attachment_bytes)
    _reviewer_guard(session, t, actor)
    if t.kind == TicketKind.ESCALATION.value and t.reviewer_id != actor.id:
        raise AccessDenied(f"only the reviewer of {t.reference} may write to the customer about it")
    subj = " ".join((subject or t.subject or "Your message").split())[:900]
    msg = outbox.queue(session, t, templates.REPLY, now=now, author=actor.login, config=config, subject=subj, text=text)
    if msg is None:
        raise InputError(f"{t.reference}: the customer has no email address on file; nothing can be sent")
    for f in files:
        session.add(
            Attachment(
                message_id=stored_id(msg),
                filename=f.filename,
                content_type=f.content_type,
                size=len(f.data),
                data=f.data,
            )
        )
    history.record(
        session,
        stored_id(t),
        actor.login,
        "reply",
        now,
        t.status,
        t.status,
        message_id=msg.id,
        template="reply",
        **({"attachments": len(files)} if files else {}),
    )
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


_T = table_of(Ticket)
_M = table_of(Message)
_REPLY_TARGET = Prepared(
    select(_T.c.id, _T.c.reference, _T.c.kind, _T.c.status, _T.c.paused_since.is_not(None), _T.c.order_id)
    .where(_T.c.reference == bindparam("reference"))
    .with_for_update()  # FOR UPDATE on PostgreSQL; SQLite holds the write lock
)
_TOUCH = Prepared(
    update(_T)
    .where(_T.c.id == bindparam("tid"))
    .values(version=_T.c.version + 1, updated_at=bindparam("now", type_=_T.c.updated_at.type), updated_by=None)
)
_INSERT_MESSAGE = Prepared.insert(_M, returning="id")


def log_customer_reply(
    session: Session, reference: str, row: dict[str, object], *, now: datetime, config: DeskConfig | None = None
) -> ReplyLogged:
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
    mid = _INSERT_MESSAGE.scalar(
        session,
        {**row, "ticket_id": tid, "kind": MessageKind.INBOUND.value, "created_at": row.get("created_at") or now},
    )
    history.record(session, tid, None, "reply", now, status, status, message_id=mid, inbound=True)
    if paused and status != TicketStatus.CLOSED.value:
        t = tickets.lock(session, ref)
        waiting.resume(session, t, now, desk_calendar(config or DeskConfig()))
        finish(t, None, now)
    else:
        _TOUCH.run(session, {"tid": tid, "now": now})
    return ReplyLogged(tid, ref, kind, status, order_id, mid)


def customer_replied(
    session: Session, reference: str, *, message: Message, now: datetime, config: DeskConfig | None = None
) -> Ticket:
    """`log_customer_reply` for a Message object (it is stored as a new row;
    the object gets the row's id and ticket); returns the ticket."""
    logged = log_customer_reply(
        session, reference, message.model_dump(exclude={"id", "ticket_id", "kind"}), now=now, config=config
    )
    message.id, message.ticket_id, message.kind = logged.message_id, logged.ticket_id, MessageKind.INBOUND.value
    t = session.get(Ticket, logged.ticket_id, populate_existing=True)
    if t is None:
        raise NotFound(f"no ticket {reference!r}")
    return t


# -- a customer writes to a closed ticket -------------------------------------------------
# closed tickets a customer's mail may reopen (a final response, an escalation and
# a refund are final: the customer's mail starts a follow-up ticket instead)
_REOPENABLE = {TicketKind.COMPLAINT.value, TicketKind.INQUIRY.value}
_FINAL_CLOSE = {"final_response"}
_CLOSED_FROM = Prepared(
    select(col(TicketEvent.from_status))
    .where(col(TicketEvent.ticket_id) == bindparam("tid"), col(TicketEvent.to_status) == TicketStatus.CLOSED.value)
    .order_by(col(TicketEvent.at).desc(), col(TicketEvent.id).desc())
    .limit(1)
)


def reopens(t: Ticket, now: datetime, reopen_days: int) -> bool:
    """Whether the customer's mail reopens closed ticket `t` (closed at most
    `reopen_days` ago, of a kind that can reopen), rather than starting a
    follow-up ticket linked to it."""
    closed = t.closed_at
    if closed is not None and closed.utcoffset() is None:
        closed = closed.replace(tzinfo=UTC)
    return (
        t.kind in _REOPENABLE
        and (t.close_reason or "") not in _FINAL_CLOSE
        and closed is not None
        and reopen_days > 0
        and now - closed <= timedelta(days=reopen_days)
    )


def reopen_for_customer(session: Session, reference: str, *, now: datetime, config: DeskConfig) -> Ticket:
    """The customer wrote to closed ticket `reference` within `[mail]
    reopen_days`: it returns to the state it was closed from (an inquiry to
    submitted, its acknowledgment due again in 2 business days), marked
    "reopened" for the queue; event "reopened" (actor None)."""
    from app.sla_clocks import ACK_BUSINESS_DAYS

    now = aware(now)
    t = tickets.lock(session, reference)
    before = _CLOSED_FROM.scalar(session, {"tid": t.id})
    if t.kind == TicketKind.INQUIRY.value or not before or before == TicketStatus.CLOSED.value:
        before = TicketStatus.SUBMITTED.value
    if before == TicketStatus.SUBMITTED.value:
        t.ack_due_at = desk_calendar(config).due_at(now, ACK_BUSINESS_DAYS)
        t.received_at = t.received_at or now
    closed_as, t.status, t.closed_at, t.close_reason = t.close_reason, before, None, None
    t.mail_flag = "reopened"
    history.record(
        session,
        stored_id(t),
        None,
        "reopened",
        now,
        TicketStatus.CLOSED.value,
        t.status,
        close_reason=closed_as,
        reason=f"the customer wrote within {config.mail.reopen_days} days of closing",
    )
    finish(t, None, now)
    session.flush()
    return t


def link_follow_up(session: Session, new_ticket_id: int, previous: str, *, now: datetime) -> None:
    """A new ticket continues closed ticket `previous` (too old to reopen, or
    final): linked both ways in the history, marked "follow_up" for the queue."""
    old = tickets.get(session, previous)
    new = session.get(Ticket, new_ticket_id)
    if new is None:
        raise NotFound(f"no ticket with id {new_ticket_id}")
    new.previous_id, new.mail_flag = old.id, "follow_up"
    history.record(session, stored_id(new), None, "follows_up", now, new.status, new.status, previous=old.reference)
    history.record(session, stored_id(old), None, "followed_up", now, old.status, old.status, follow_up=new.reference)


_NOTE_TARGET = Prepared(select(_T.c.id, _T.c.reference, _T.c.status).where(_T.c.reference == bindparam("reference")))


def note_stranger(session: Session, reference: str, *, now: datetime, outcome: str) -> None:
    """Staff note on ticket `reference`: a mail from another address quoted it
    (what became of that mail: `outcome`); the stranger's text is never copied.
    Prepared statements: intake writes it on its hot path."""
    found = _NOTE_TARGET.first(session, {"reference": reference.strip().upper()})
    if found is None:
        raise NotFound(f"no ticket {reference!r}")
    tid, ref, status = found
    subject = "Reference quoted by another sender"
    text = (
        f"A message from an address that is not this ticket's customer quoted {ref}. It was not added here: {outcome}."
    )
    mid = _INSERT_MESSAGE.scalar(
        session,
        {"ticket_id": tid, "kind": MessageKind.NOTE.value, "subject": subject, "body": text, "created_at": now},
    )
    _noted(session, tid, status, None, mid, now, subject)


# -- the timeline ----------------------------------------------------------------
@dataclass(frozen=True)
class TimelineItem:
    kind: str  # "event", "inbound", "outbound", "note", "automatic" (an auto-reply or delivery report, not the customer's)
    actor: str | None
    at: datetime
    text: str  # plain text, inert (no control characters); display as text, never markup
    action: str | None = None  # events: the action
    subject: str | None = None  # messages
    delivery: str | None = None  # outbound: queued / sent / failed
    ref_id: int | None = None  # event id or message id
    hidden_chars: int = 0  # a long body cut to its preview: how many characters are not in `text`


def _shown(value: object, tz: str | None) -> str:
    """A detail value in words: an instant in desk-local time, a stored name without underscores."""
    text = str(value)
    if tz and len(text) >= 19 and text[4:5] == "-" and text[10:11] in (" ", "T"):
        try:
            return labels.local_time(datetime.fromisoformat(text), tz)
        except ValueError:
            pass
    return labels.words(text) if text.replace("_", "").isalpha() else text


def _event_text(e: TicketEvent, tz: str | None = None) -> str:
    d = history.detail_of(e)
    parts = [labels.event(e.action)]
    if e.from_status and e.to_status and e.from_status != e.to_status:
        parts.append(f"{labels.status(e.from_status)} → {labels.status(e.to_status)}")
    names = {
        "close_reason": "why",
        "info_needed": "information needed",
        "before": "was",
        "after": "now",
        "merged": "from",
    }
    for key in (
        "reason",
        "close_reason",
        "category",
        "before",
        "after",
        "template",
        "escalation",
        "complaint",
        "reviewer",
        "source",
        "info_needed",
        "merged",
        "into",
    ):
        value = d.get(key)
        if value in (None, "", []):
            continue
        if key == "info_needed" and isinstance(value, str):  # stored comma-joined: "incident_date,phone"
            value = value.split(",")
        if key == "close_reason":
            value = labels.close_reason(str(value))
        elif isinstance(value, list):
            value = ", ".join(labels.words(str(v)) for v in value)
        else:
            value = _shown(value, tz)
        parts.append(f"{names.get(key, key)}: {value}")
    return inert(" · ".join(str(p) for p in parts), single_line=True)


def timeline(
    session: Session, ticket_id: int, tz: str | None = None, body_limit: int | None = None
) -> list[TimelineItem]:
    """Events and messages of a ticket merged in time order (events before
    messages at the same instant; `tz`: instants in the events' details shown
    in desk-local time). Event entries that only announce a message
    (note/reply) are kept: the history is shown whole.

    body_limit: read at most this many characters of each body from the
    database (a screen's preview; `hidden_chars` says how many were left)."""
    from sqlalchemy import func

    items: list[tuple[datetime, int, int | None, TimelineItem]] = []
    merged: dict[int, str] = {}  # tickets merged into this one: their events are shown with their reference
    for e in history.events(session, ticket_id):
        text = _event_text(e, tz)
        if e.ticket_id != ticket_id:
            if e.action == "merged_into":
                continue  # this ticket's own "merged" event says it
            if e.ticket_id not in merged:
                merged[e.ticket_id] = (
                    session.scalar(select(col(Ticket.reference)).where(col(Ticket.id) == e.ticket_id)) or "?"
                )
            text = f"{merged[e.ticket_id]}: {text}"
        items.append((e.at, 0, e.id, TimelineItem("event", e.actor, e.at, text, action=e.action, ref_id=e.id)))
    files: dict[int, list[str]] = {}
    for mid, name, size in session.execute(
        select(col(Attachment.message_id), col(Attachment.filename), col(Attachment.size))
        .join(Message, col(Message.id) == col(Attachment.message_id))
        .where(col(Message.ticket_id) == ticket_id, col(Message.kind) == MessageKind.OUTBOUND.value)
        .order_by(col(Attachment.id))
    ):  # files the desk sent (the customer's are listed under Evidence)
        files.setdefault(mid, []).append(
            f"attached: {inert(name, limit=120, single_line=True) or 'unnamed'} ({size} bytes)"
        )
    body: ColumnElement[str] = _M.c.body if body_limit is None else func.substr(col(Message.body), 1, body_limit)
    # the columns read, of mixed types
    cols: list[ColumnElement[Any]] = [
        _M.c.id,
        _M.c.kind,
        _M.c.automatic,
        _M.c.author,
        _M.c.from_name,
        _M.c.from_addr,
        _M.c.created_at,
        _M.c.subject,
        _M.c.delivery,
        body.label("body"),
    ]
    if body_limit is not None:
        cols.append(func.length(_M.c.body).label("length"))
    rows = session.execute(
        select(*cols).where(col(Message.ticket_id) == ticket_id).order_by(col(Message.created_at), col(Message.id))
    )
    for m in rows:
        who = m.author if m.kind != MessageKind.INBOUND.value else (m.from_name or m.from_addr)
        hidden = max(0, (m.length or 0) - body_limit) if body_limit is not None else 0
        text = inert(m.body) + ("\n" + "\n".join(files[m.id]) if m.id in files else "")
        items.append(
            (
                m.created_at,
                1,
                m.id,
                TimelineItem(
                    "automatic" if m.automatic else m.kind,
                    inert(who, single_line=True) or None,
                    m.created_at,
                    text,
                    subject=inert(m.subject, single_line=True),
                    delivery=m.delivery,
                    ref_id=m.id,
                    hidden_chars=hidden,
                ),
            )
        )
    items.sort(key=lambda x: (x[0], x[1], x[2]))
    return [i[3] for i in items]
