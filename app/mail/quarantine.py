"""Reviewing quarantined mail: list, review, release (as a ticket) or discard.

Every call checks the actor's "quarantine" permission. A release creates a
ticket (inquiry by default, for triage) holding the message, and records
"released_from_quarantine" on it; a discard keeps the row and its bytes,
marked discarded with who and when. Both are logged (logger
"esimdesk.quarantine"). Previews are inert (app.untrusted) and bounded: only
the first PREVIEW_BYTES of a message are ever decoded for a screen.
"""

from __future__ import annotations

import email
import email.policy
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session, col

from app import history
from app.config import DeskConfig
from app.errors import IllegalTransition, InputError, NotFound
from app.identity import Actor
from app.mail.parse import (
    MAX_MESSAGE_BYTES,
    ParsedMessage,
    Unparseable,
    _attachment,
    _decode_words,
    _fix_surrogates,
    decode_text,
    parse_message,
    storable,
)
from app.untrusted import inert
from models import Message, Quarantine, stored_id
from models.enums import QuarantineState

log = logging.getLogger("esimdesk.quarantine")

PREVIEW_BYTES = 64 * 1024  # review(): the first 64 KB of the message
PREVIEW_CHARS = 20_000
LIST_PREVIEW_BYTES = 4096  # list_quarantine(): a short preview per row
RELEASE_KINDS = ("inquiry", "complaint", "refund")


@dataclass(frozen=True)
class QuarantineView:
    """What a screen may show of a quarantined message (all text inert)."""

    id: int
    received_at: datetime
    source: str
    message_id: str
    reason: str
    state: str
    size: int
    sender: str
    subject: str
    preview: str
    ticket_id: int | None


def _headers(raw: bytes) -> tuple[str, str]:
    head = raw[:PREVIEW_BYTES]
    try:
        msg = email.message_from_bytes(head, policy=email.policy.compat32)
        sender = _decode_words(_fix_surrogates(str(msg.get("from", "") or "")))
        subject = _decode_words(_fix_surrogates(str(msg.get("subject", "") or "")))
    except Exception:  # noqa: BLE001 - an undecodable header shows as empty, never fails the list
        return "", ""
    return sender, subject


def _views(session: Session, where: ColumnElement[bool], preview_bytes: int, limit: int) -> list[QuarantineView]:
    """Views built from the first `preview_bytes` of each message only (the
    bytes of a big message never leave the database for a screen)."""
    rows = session.execute(
        select(
            col(Quarantine.id),
            col(Quarantine.received_at),
            col(Quarantine.source),
            col(Quarantine.message_id),
            col(Quarantine.reason),
            col(Quarantine.state),
            col(Quarantine.ticket_id),
            func.length(Quarantine.raw),
            func.substr(Quarantine.raw, 1, preview_bytes),
        )
        .where(where)
        .order_by(col(Quarantine.received_at).desc(), col(Quarantine.id).desc())
        .limit(limit)
    ).all()
    out = []
    for qid, received_at, source, message_id, reason, state, ticket_id, size, head in rows:
        head = bytes(head or b"")
        sender, subject = _headers(head)
        text = decode_text(head, None)
        if size > len(head):
            text += f"\n… ({size - len(head)} more bytes not shown)"
        out.append(
            QuarantineView(
                id=qid,
                received_at=received_at,
                source=inert(source, 300, True),
                message_id=inert(message_id, 200, True),
                reason=inert(reason, 500, True),
                state=state,
                size=size,
                sender=inert(sender, 300, True),
                subject=inert(subject, 300, True),
                preview=inert(text, limit=PREVIEW_CHARS),
                ticket_id=ticket_id,
            )
        )
    return out


def count_held(session: Session) -> int:
    return session.scalars(
        select(func.count(col(Quarantine.id))).where(col(Quarantine.state) == QuarantineState.HELD.value)
    ).one()


def list_quarantine(
    session: Session, actor: Actor, state: str = QuarantineState.HELD.value, limit: int = 200
) -> list[QuarantineView]:
    actor.require("quarantine", "review quarantined mail")
    return _views(session, col(Quarantine.state) == state, LIST_PREVIEW_BYTES, limit)


def review(session: Session, actor: Actor, quarantine_id: int) -> QuarantineView:
    actor.require("quarantine", "review quarantined mail")
    views = _views(session, col(Quarantine.id) == quarantine_id, PREVIEW_BYTES, 1)
    if not views:
        raise NotFound(f"no quarantined message {quarantine_id}")
    return views[0]


def _get(session: Session, quarantine_id: int, lock: bool = False) -> Quarantine:
    stmt = select(Quarantine).where(col(Quarantine.id) == quarantine_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    q = session.scalars(stmt.execution_options(populate_existing=True)).first()
    if q is None:
        raise NotFound(f"no quarantined message {quarantine_id}")
    return q


def _held(q: Quarantine) -> None:
    if q.state != QuarantineState.HELD.value:
        raise IllegalTransition(f"quarantined message {q.id} was already {q.state} by {q.resolved_by or 'someone'}")


def lenient_parse(raw: bytes, fallback_sender: str = "", max_bytes: int = MAX_MESSAGE_BYTES) -> ParsedMessage:
    """A ParsedMessage for a message a person decided to accept anyway. A
    message above `max_bytes` keeps its headers; its body becomes the
    attachment "message.eml" (the whole message, as received)."""
    if len(raw) > max_bytes:
        return _oversized(raw, fallback_sender)
    try:
        return parse_message(raw)
    except Unparseable:
        pass
    sender, subject = _headers(raw)
    if len(raw) > MAX_MESSAGE_BYTES:
        body = f"(message of {len(raw)} bytes kept in quarantine; too large to import)"
    else:
        body = decode_text(raw, None)
        sep = body.find("\n\n")
        body = body[sep + 2 :] if sep >= 0 else body
    return ParsedMessage(
        message_id=None,
        from_addr=fallback_sender,
        from_name=storable(sender)[:300] or None,
        to_addr=None,
        subject=storable(" ".join(subject.split()))[:998],
        body=storable(body),
        date=None,
        date_header="",
    )


def _oversized(raw: bytes, fallback_sender: str) -> ParsedMessage:
    """Headers only (parsed from the head), the whole message an attachment."""
    head = raw[:PREVIEW_BYTES]
    try:
        parsed = parse_message(head.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\n\n")
    except Unparseable:
        sender, subject = _headers(raw)
        parsed = ParsedMessage(
            message_id=None,
            from_addr=fallback_sender,
            from_name=storable(sender)[:300] or None,
            to_addr=None,
            subject=storable(" ".join(subject.split()))[:998],
            body="",
            date=None,
            date_header="",
        )
    parsed.body = (
        f"(a message of {len(raw)} bytes, above the desk's size limit: its text is kept as the attachment message.eml)"
    )
    parsed.attachments = [_attachment("message.eml", "message/rfc822", raw)]
    parsed.size = len(raw)
    return parsed


def release(
    session: Session,
    actor: Actor,
    quarantine_id: int,
    *,
    kind: str = "inquiry",
    now: datetime | None = None,
    config: DeskConfig | None = None,
) -> str:
    """Create a ticket of `kind` from the quarantined message; its reference."""
    from app.mail.routing import route_message

    actor.require("quarantine", "release quarantined mail")
    if kind not in RELEASE_KINDS:
        raise InputError(f"cannot release as {kind!r} (one of {', '.join(RELEASE_KINDS)})")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    config = config or DeskConfig()  # the caller's config, else the built-in defaults (never a file)
    q = _get(session, quarantine_id, lock=True)
    _held(q)
    parsed = lenient_parse(q.raw, max_bytes=config.mail.max_message_bytes)
    if (
        parsed.message_id
        and session.scalars(select(col(Message.id)).where(col(Message.message_id) == parsed.message_id)).first()
    ):
        parsed.message_id = None  # the same Message-ID is already on a ticket
    received = q.received_at if q.received_at.tzinfo else q.received_at.replace(tzinfo=UTC)
    _result, reference = route_message(
        session,
        parsed,
        received=parsed.received_at(received) if parsed.date else received,
        now=now,
        config=config,
        dedupe=q.dedupe_key or parsed.dedupe_key,
        forced_kind=kind,
    )
    from app.tickets import get

    ticket = get(session, reference)
    q.state = QuarantineState.RELEASED.value
    q.resolved_by = actor.login
    q.resolved_at = now
    q.ticket_id = stored_id(ticket)
    history.record(
        session,
        stored_id(ticket),
        actor.login,
        "released_from_quarantine",
        now,
        None,
        ticket.status,
        quarantine=q.id,
        reason=q.reason[:200],
    )
    log.info("quarantine %s released by %s as %s", q.id, actor.login, reference)
    return reference


def discard(session: Session, actor: Actor, quarantine_id: int, *, now: datetime | None = None) -> None:
    """Mark the message discarded (its bytes stay, for the record)."""
    actor.require("quarantine", "discard quarantined mail")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    q = _get(session, quarantine_id, lock=True)
    _held(q)
    q.state = QuarantineState.DISCARDED.value
    q.resolved_by = actor.login
    q.resolved_at = now
    log.info("quarantine %s discarded by %s (%s)", q.id, actor.login, q.reason)
