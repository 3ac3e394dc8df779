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

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from app.config import DeskConfig
from app.errors import DeskError
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
    `on_item(item, raw_message)` is called after each message's transaction."""
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
        log.warning("intake: integrity error on %s", rm.source)
        return quarantine_raw(desk, rm, "could not be stored (integrity error)", now, parsed.message_id, key)
    except OperationalError as exc:  # the database, not the message: stop; a re-run resumes
        raise DeskError(f"database error while ingesting {rm.source}: {str(exc.orig or exc).splitlines()[0]}") from None
    except Exception as exc:  # never lose a message: keep it for a person
        reason = f"could not be routed: {type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        log.warning("intake: %s %s", rm.source, reason, exc_info=log.isEnabledFor(logging.DEBUG))
        return quarantine_raw(desk, rm, reason, now, parsed.message_id, key)


# one round trip: the ticket already holding this message (by dedupe key or
# Message-ID), or "" when it is held in quarantine; no row when it is new
_DUPLICATE_SQL = text(
    "SELECT t.reference FROM message m JOIN ticket t ON t.id = m.ticket_id WHERE m.dedupe_key = :key "
    "UNION ALL SELECT t.reference FROM message m JOIN ticket t ON t.id = m.ticket_id WHERE m.message_id = :mid "
    "UNION ALL SELECT coalesce(t.reference, '') FROM quarantine q LEFT JOIN ticket t ON t.id = q.ticket_id "
    "WHERE q.dedupe_key = :key LIMIT 1"
)


def _find_duplicate(session: Session, message_id: str | None, key: str) -> str | None:
    """The reference of the ticket that already holds this message ("" when it
    is held in quarantine), or None when the message is new."""
    row = session.connection().execute(_DUPLICATE_SQL, {"key": key, "mid": message_id}).first()
    return None if row is None else row[0]


def quarantine_raw(desk, rm: RawMessage, reason: str, now: datetime, message_id: str | None = None, key: str | None = None) -> Item:  # noqa: ANN001
    key = key or raw_key(rm.raw)
    with desk.session() as session:
        existing = _find_duplicate(session, message_id, key)
        if existing is not None:
            return Item(rm.source, message_id, DUPLICATE, existing or None)
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
    log.info("intake: quarantined %s: %s", rm.source, reason)
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

    intent = classify(parsed.subject, parsed.body)
    if forced_kind is None and (intent.kind == "escalation" or intent.references or parsed.in_reply_to or parsed.references):
        msg = wf.inbound_message(parsed, dedupe, now)
        result, t = _route_existing(session, parsed, intent, msg, received=received, now=now, config=config)
        if t is not None:
            session.flush()
            _attachments(session, t, msg.id, parsed, now)
            return result, t.reference
    # a new ticket; the message row goes in through Core (the hot path of a batch)
    kind = forced_kind or ("inquiry" if intent.kind == "escalation" else intent.kind)
    if kind == "complaint":
        t = wf.new_complaint(session, parsed, received=received, now=now, config=config)
    elif kind == "refund":
        t = wf.new_refund(session, parsed, order_number=intent.order_number, received=received, now=now, config=config)
    else:
        t = wf.new_inquiry(session, parsed, received=received, now=now, config=config)
    message_id = session.connection().execute(_INSERT_MESSAGE, wf.inbound_row(parsed, dedupe, now, t.id)).inserted_primary_key[0]
    _attachments(session, t, message_id, parsed, now)
    if t.kind == "refund" and t.info_needed == "order_number":
        wf.ask_order_number(session, t, intent.order_number, now=now, config=config)
    return CREATED, t.reference


def _route_existing(
    session: Session, parsed: ParsedMessage, intent: Intent, msg: Message, *, received: datetime, now: datetime, config: DeskConfig,
) -> tuple[str, Ticket | None]:
    """Replies and escalations: (result, ticket), or (created, None) when the
    message asks for a new ticket."""
    from app.mail import tickets as wf

    thread = _thread_ticket(session, parsed)  # In-Reply-To/References name one of our messages
    if thread is not None and (intent.is_reply or intent.kind != "escalation"):
        return LINKED, wf.replied(session, thread, msg, now=now, config=config)
    if intent.kind == "escalation":
        target = _ticket(session, intent.escalates or "")
        if target is not None and target.kind == "complaint":
            created, t = wf.escalate(session, target, parsed, msg, received=received, now=now, config=config)
            return (CREATED if created else LINKED), t
        if target is not None:
            return LINKED, wf.replied(session, target, msg, now=now, config=config)
        return CREATED, None  # an unknown reference: a new inquiry for triage
    if threads_by_subject(intent):
        t = _subject_ticket(session, intent)
        if t is not None:
            return LINKED, wf.replied(session, t, msg, now=now, config=config)
    return CREATED, None


_INSERT_MESSAGE = insert(Message.__table__)
_INSERT_ATTACHMENT = insert(Attachment.__table__)


def _attachments(session: Session, t: Ticket, message_id: int, parsed: ParsedMessage, now: datetime) -> None:
    if not parsed.attachments:
        return
    conn = session.connection()
    big = []
    for a in parsed.attachments:
        conn.execute(_INSERT_ATTACHMENT, {"message_id": message_id, "filename": a.filename, "content_type": a.content_type,
                                          "size": a.size, "data": a.data})
        if a.data is None:
            big.append(a.size)
    if big:
        from app import history

        history.record(session, t.id, None, "attachment_not_stored", now, sizes=big,
                       note="larger than the storage cap; name, type and size recorded")


def count_messages(desk) -> int:  # noqa: ANN001
    with desk.reader() as session:
        return session.execute(select(func.count(Message.id))).scalar_one()
