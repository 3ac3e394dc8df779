"""`ingest_paths`: a batch of messages -> tickets, one transaction per message.

Every message read ends as exactly one of created / linked / duplicate /
quarantined (contracts/intake.md); `Summary.read` is their sum. Each message
commits on its own, so a crash mid-batch loses nothing, and a re-run finds the
committed ones again by Message-ID (or by sha256 of sender|date|body) and
reports them as duplicates. Anything that fails while routing is quarantined
with its raw bytes instead of being dropped.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.config import DeskConfig
from app.mail import sources
from app.mail.parse import FUTURE_DATE_SLACK, ParsedMessage, Unparseable, parse_message, peek_message_id, raw_key, storable
from app.mail.route import Intent, classify, threads_by_subject
from app.mail.sources import RawMessage
from models import Attachment, Message, Quarantine, Ticket

log = logging.getLogger("esimdesk.intake")

CREATED, LINKED, DUPLICATE, QUARANTINED = "created", "linked", "duplicate", "quarantined"


@dataclass
class Item:
    source: str
    message_id: str | None
    result: str
    ticket: str | None = None
    reason: str | None = None


@dataclass
class Summary:
    items: list[Item] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for i in self.items if i.result == result)

    @property
    def read(self) -> int:
        return len(self.items)

    def as_dict(self) -> dict:
        return {
            "read": self.read,
            "created": self.count(CREATED),
            "linked": self.count(LINKED),
            "duplicate": self.count(DUPLICATE),
            "quarantined": self.count(QUARANTINED),
            "items": [asdict(i) for i in self.items],
        }


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def _config(desk) -> DeskConfig:  # noqa: ANN001
    cfg = getattr(desk, "config", None)
    if isinstance(cfg, DeskConfig):
        return cfg
    from app.config import load_config

    return load_config()


def ingest_paths(
    desk,  # noqa: ANN001  app.db.Desk
    paths: Iterable[str | Path],
    now: datetime | None = None,
    *,
    config: DeskConfig | None = None,
    on_item: Callable[[Item, RawMessage], None] | None = None,
) -> Summary:
    """Ingest every message under `paths` (.eml, Maildir, mbox).

    InputError before anything is read when a PATH cannot be read at all.
    `on_item` is called after each message's transaction (the watcher moves
    Maildir files with it)."""
    checked = sources.check_paths([Path(p) for p in paths])
    config = config or _config(desk)
    summary = Summary()
    for path, kind in checked:
        for rm in sources.iter_messages(path, kind):
            item = ingest_raw(desk, rm, now=now, config=config)
            summary.items.append(item)
            if on_item is not None:
                on_item(item, rm)
    return summary


def ingest_raw(desk, rm: RawMessage, now: datetime | None = None, *, config: DeskConfig | None = None) -> Item:  # noqa: ANN001
    """One message, in its own transaction."""
    now = _utc(now or datetime.now(UTC))
    config = config or _config(desk)
    try:
        parsed = parse_message(rm.raw)
    except Unparseable as exc:
        return quarantine_raw(desk, rm, str(exc), now, peek_message_id(rm.raw))
    received = _utc(parsed.date or rm.mtime or now)
    if received > now + FUTURE_DATE_SLACK:
        received = now
    key = parsed.dedupe_key
    try:
        with desk.session() as session:
            dup = _find_duplicate(session, parsed.message_id, key)
            if dup is not None:
                return Item(rm.source, parsed.message_id, DUPLICATE, dup or None)
            result, reference = route_message(session, parsed, received=received, now=now, config=config, dedupe=key)
        return Item(rm.source, parsed.message_id, result, reference)
    except IntegrityError:
        # a concurrent intake committed the same message first
        with desk.reader() as session:
            dup = _find_duplicate(session, parsed.message_id, key)
        if dup is not None:
            return Item(rm.source, parsed.message_id, DUPLICATE, dup or None)
        log.exception("intake: integrity error on %s", rm.source)
        return quarantine_raw(desk, rm, "could not be stored (integrity error)", now, parsed.message_id, key)
    except Exception as exc:  # never lose a message: keep it for a person
        log.exception("intake: routing failed for %s", rm.source)
        reason = f"could not be routed: {type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        return quarantine_raw(desk, rm, reason, now, parsed.message_id, key)


def _find_duplicate(session: Session, message_id: str | None, key: str) -> str | None:
    """The reference of the ticket that already holds this message ("" when it
    is held in quarantine), or None when the message is new."""
    cond = Message.dedupe_key == key
    if message_id:
        cond = or_(cond, Message.message_id == message_id)
    row = session.execute(
        select(Message.id, Ticket.reference).join(Ticket, Ticket.id == Message.ticket_id).where(cond).limit(1)
    ).first()
    if row is not None:
        return row[1]
    q = session.execute(select(Quarantine.id, Quarantine.ticket_id).where(Quarantine.dedupe_key == key).limit(1)).first()
    if q is not None:
        if q[1] is not None:
            t = session.get(Ticket, q[1])
            return t.reference if t else ""
        return ""
    return None


def quarantine_raw(desk, rm: RawMessage, reason: str, now: datetime, message_id: str | None = None, key: str | None = None) -> Item:  # noqa: ANN001
    key = key or raw_key(rm.raw)
    with desk.session() as session:
        dup = session.execute(select(Quarantine.id).where(Quarantine.dedupe_key == key)).first()
        if dup is not None:
            return Item(rm.source, message_id, DUPLICATE, None)
        if message_id:
            existing = _find_duplicate(session, message_id, key)
            if existing:
                return Item(rm.source, message_id, DUPLICATE, existing)
        session.add(
            Quarantine(
                received_at=_utc(rm.mtime or now) if rm.mtime and rm.mtime <= now else now,
                source=storable(rm.source)[:1000],
                message_id=message_id,
                dedupe_key=key,
                reason=reason[:500],
                raw=rm.raw,
            )
        )
    log.warning("intake: quarantined %s: %s", rm.source, reason)
    return Item(rm.source, message_id, QUARANTINED, None, reason)


# -- routing ------------------------------------------------------------------------
def _thread_ticket(session: Session, parsed: ParsedMessage) -> Ticket | None:
    """The ticket whose stored message this one answers (In-Reply-To/References)."""
    ids = [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i]
    if not ids:
        return None
    row = session.execute(
        select(Ticket).join(Message, Message.ticket_id == Ticket.id).where(Message.message_id.in_(ids)).order_by(Message.id.desc()).limit(1)
    ).first()
    return row[0] if row else None


def _ticket(session: Session, reference: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.reference == reference)).first()


def _subject_ticket(session: Session, intent: Intent) -> Ticket | None:
    for ref in intent.references:
        t = _ticket(session, ref)
        if t is not None:
            return t
    return None


def route_message(
    session: Session, parsed: ParsedMessage, *, received: datetime, now: datetime, config: DeskConfig, dedupe: str,
    forced_kind: str | None = None,
) -> tuple[str, str]:
    """Create or link the ticket for `parsed` and store the message with its
    attachments; returns (result, ticket reference). `forced_kind` skips the
    routing rules (a quarantined message released as a new ticket)."""
    from app.mail import tickets as wf

    msg = wf.inbound_message(parsed, dedupe, now)
    intent = classify(parsed.subject, parsed.body)
    result, t = CREATED, None
    if forced_kind is None:
        result, t = _route_existing(session, parsed, intent, msg, received=received, now=now, config=config)
    if t is None:
        kind = forced_kind or intent.kind
        if kind == "complaint":
            t = wf.new_complaint(session, parsed, msg, received=received, now=now, config=config)
        elif kind == "refund":
            t = wf.new_refund(session, parsed, msg, order_number=intent.order_number, received=received, now=now, config=config)
        else:
            t = wf.new_inquiry(session, parsed, msg, received=received, now=now, config=config)
        result = CREATED
    session.flush()
    _attachments(session, t, msg, parsed, now)
    return result, t.reference


def _route_existing(
    session: Session, parsed: ParsedMessage, intent: Intent, msg: Message, *, received: datetime, now: datetime, config: DeskConfig,
) -> tuple[str, Ticket | None]:
    """Escalations and replies: (result, ticket), or (created, None) when the
    message asks for a new ticket."""
    from app.mail import tickets as wf

    if intent.kind == "escalation":
        complaint = _ticket(session, intent.escalates or "")
        if complaint is not None and complaint.kind == "complaint":
            existing = session.scalars(select(Ticket).where(Ticket.escalation_of_id == complaint.id)).first()
            if existing is None:
                t = wf.escalate(session, complaint, parsed, msg, received=received, now=now, config=config)
                if t is not None:
                    return CREATED, t
                wf.replied(session, complaint, msg, now=now, config=config)  # the workflow refused: correspondence
                return LINKED, complaint
            # one level only: a second request is correspondence on the escalation
            wf.replied(session, existing, msg, now=now, config=config)
            return LINKED, existing
        if complaint is not None:
            wf.replied(session, complaint, msg, now=now, config=config)
            return LINKED, complaint
        return CREATED, None  # an unknown reference: a new inquiry for triage
    thread = _thread_ticket(session, parsed)
    if thread is None and threads_by_subject(intent):
        thread = _subject_ticket(session, intent)
    if thread is not None:
        wf.replied(session, thread, msg, now=now, config=config)
        return LINKED, thread
    return CREATED, None


def _attachments(session: Session, t: Ticket, msg: Message, parsed: ParsedMessage, now: datetime) -> None:
    big = []
    for a in parsed.attachments:
        session.add(Attachment(message_id=msg.id, filename=a.filename, content_type=a.content_type, size=a.size, data=a.data))
        if a.data is None:
            big.append(a.size)
    if big:
        from app import history

        history.record(session, t.id, None, "attachment_not_stored", now, sizes=big,
                       note="larger than the storage cap; name, type and size recorded")


def count_messages(desk) -> int:  # noqa: ANN001
    with desk.reader() as session:
        return session.execute(select(func.count(Message.id))).scalar_one()
