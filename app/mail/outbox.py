"""Delivering the outbox: queued outbound Messages -> SMTP, or a Maildir folder.

- A message is claimed (its next attempt pushed out by CLAIM_LEASE in a
  committed transaction) before it is sent, so two senders never send the
  same row at once; it is marked `sent` only after the server accepted it.
  A crash between acceptance and that commit sends it again next time
  (at-least-once; the Message-ID is kept, so the copy is recognisable).
- Temporary failures (4xx replies, connection errors) retry with exponential
  backoff (BACKOFF_BASE * 2**(attempts-1), capped at BACKOFF_CAP) until
  `smtp.max_attempts`; a 5xx reply, an unusable address or the last attempt
  failing marks the message `failed` and records a TicketEvent
  "delivery_failed" on its ticket, which the ticket and dashboard show.
- `[smtp] tls` starttls/ssl always verifies the server's certificate and host
  name (system CAs, or `[smtp] ca_file`); a verification failure, a refused
  login or an unreachable server is a desk configuration problem, so it is a
  temporary failure that stops the batch (only the first message spends an
  attempt) and shows as that message's `last_error`.
- Without `[smtp] host` the message is written to a Maildir instead
  (`[outbox] maildir`, default `outbox/` next to the SQLite file, else in the
  user data dir), so a demo desk works offline.
Every subject carries the ticket reference so replies thread back. The From
line carries `[desk] name`, a Reply-To `[desk] reply_to` when set, and every
mail the desk sends on its own (no author) `Auto-Submitted: auto-replied`.
"""

from __future__ import annotations

import logging
import mailbox
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, CursorResult, or_, select, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, col

from app import history
from app.config import DeskConfig
from models import Message, Ticket, stored_id
from models.enums import DeliveryState, MessageKind

if TYPE_CHECKING:
    from app.config import SmtpConfig
    from app.db import Desk
    from app.mail.attachments import OutgoingFile

log = logging.getLogger("esimdesk.outbox")

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
CLAIM_LEASE = timedelta(minutes=10)


class TemporaryFailure(Exception):
    """Try again later; `fatal_for_batch` when the server itself is unreachable."""

    def __init__(self, message: str, fatal_for_batch: bool = False) -> None:
        super().__init__(message)
        self.fatal_for_batch = fatal_for_batch


class PermanentFailure(Exception):
    """The server (or the address) refuses this message for good."""


@dataclass
class Delivery:
    id: int
    ticket: str
    to: str | None
    result: str  # sent | retry | failed
    attempts: int
    error: str | None = None
    next_attempt_at: str | None = None


@dataclass
class OutboxSummary:
    transport: str
    items: list[Delivery] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        counts = {k: sum(1 for i in self.items if i.result == k) for k in ("sent", "retry", "failed")}
        return {
            "transport": self.transport,
            "attempted": len(self.items),
            **counts,
            "items": [asdict(i) for i in self.items],
        }


def backoff(attempts: int) -> timedelta:
    """Wait before attempt number `attempts + 1`."""
    wait: timedelta = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    return wait


def outbox_maildir(config: DeskConfig, db_url: str | None) -> Path:
    if config.outbox_maildir:
        return Path(config.outbox_maildir).expanduser()
    if db_url:
        url = make_url(db_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).expanduser().resolve().parent / "outbox"
    from platformdirs import user_data_dir

    return Path(user_data_dir("esimdesk")) / "outbox"


# -- transports ------------------------------------------------------------------
class SmtpTransport:
    name = "smtp"

    def __init__(self, config: DeskConfig) -> None:
        self.cfg = config.smtp
        self.conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        """An open (and, when configured, encrypted and logged-in) connection.

        Every failure here is a TemporaryFailure that stops the batch: the
        problem is the server or the desk's [smtp] settings, not a message.
        """
        cfg = self.cfg
        host = cfg.host or ""  # transport_for makes an SmtpTransport only when [smtp] host is set
        where = f"{host}:{cfg.port}"
        context = tls_context(cfg) if cfg.tls in ("starttls", "ssl") else None
        conn: smtplib.SMTP | None = None
        try:
            if cfg.tls == "ssl":
                conn = smtplib.SMTP_SSL(host, cfg.port, timeout=cfg.timeout, context=context)
            else:
                conn = smtplib.SMTP(host, cfg.port, timeout=cfg.timeout)
                if cfg.tls == "starttls":
                    conn.starttls(context=context)
            if cfg.username:
                conn.login(cfg.username, cfg.password or "")
        except (OSError, smtplib.SMTPException) as exc:  # ssl.SSLError is an OSError
            _discard(conn)
            raise _connect_failure(exc, where, cfg.tls) from None
        except BaseException:
            _discard(conn)
            raise
        return conn

    def send(self, em: EmailMessage, sender: str, recipient: str) -> None:
        if self.conn is None:
            self.conn = self._connect()
        try:
            refused = self.conn.send_message(em, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b""))
            self._raise(code, text, "recipient refused")
        except smtplib.SMTPResponseException as exc:
            self._raise(exc.smtp_code, exc.smtp_error, "refused")
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise TemporaryFailure(f"connection lost: {exc}", True) from None
        if refused:
            code, text = next(iter(refused.values()))
            self._raise(code, text, "recipient refused")

    @staticmethod
    def _raise(code: int, text: bytes | str, what: str) -> None:
        detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        message = f"{what}: {code} {detail}".strip()
        if 500 <= int(code) < 600:
            raise PermanentFailure(message)
        raise TemporaryFailure(message)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                try:
                    self.conn.close()
                except OSError:
                    pass
            self.conn = None


def tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    """The verifying client context: `[smtp] ca_file` when set, else the system CAs.
    Certificate and host name checks always stay on."""
    try:
        return ssl.create_default_context(cafile=cfg.ca_file) if cfg.ca_file else ssl.create_default_context()
    except OSError as exc:  # the file went away or changed since the config was loaded
        raise TemporaryFailure(f"cannot load [smtp] ca_file {cfg.ca_file}: {_ssl_detail(exc)}", True) from None


def _ssl_detail(exc: BaseException) -> str:
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(getattr(exc, "strerror", None) or exc))


def _connect_failure(exc: OSError | smtplib.SMTPException, where: str, tls: str) -> TemporaryFailure:
    """Map what connecting/STARTTLS/login raised to a one-line TemporaryFailure."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TemporaryFailure(
            f"TLS certificate verification failed for SMTP server {where}: {exc.verify_message or _ssl_detail(exc)}; "
            "check [smtp] host, or set [smtp] ca_file to the relay's CA bundle",
            True,
        )
    if isinstance(exc, ssl.SSLError):
        return TemporaryFailure(
            f"TLS handshake with SMTP server {where} failed ({_ssl_detail(exc)}); check [smtp] tls = {tls!r} and port",
            True,
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return TemporaryFailure(f"SMTP login refused ({exc.smtp_code}); check [smtp] username/password", True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return TemporaryFailure(f"SMTP server {where}: {exc}; check [smtp] tls and username", True)
    return TemporaryFailure(f"cannot reach SMTP server {where}: {exc}", True)


def _discard(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass


class MaildirTransport:
    name = "maildir"

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, em: EmailMessage, sender: str, recipient: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            box = mailbox.Maildir(str(self.path), create=True)
            box.add(em.as_bytes())
        except OSError as exc:
            raise TemporaryFailure(f"cannot write outbox Maildir {self.path}: {exc}", True) from None

    def close(self) -> None:
        pass


def transport_for(config: DeskConfig, db_url: str | None) -> SmtpTransport | MaildirTransport:
    if config.smtp.host:
        return SmtpTransport(config)
    return MaildirTransport(outbox_maildir(config, db_url))


# -- the message -------------------------------------------------------------------
def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())


def build_email(
    row: Message, reference: str, config: DeskConfig, now: datetime, files: Sequence[OutgoingFile] = ()
) -> EmailMessage:
    """The MIME message for an outbound row (with `files`, its stored
    attachments, as MIME parts); PermanentFailure when its address or headers
    are unusable."""
    subject = _one_line(row.subject)
    if reference not in subject:
        subject = f"{subject} [{reference}]".strip()
    to = _one_line(row.to_addr)
    if "@" not in to:
        raise PermanentFailure(f"no usable recipient address {to!r}")
    em = EmailMessage()
    try:
        em["From"] = formataddr((config.desk.name, _one_line(row.from_addr) or config.desk_address))
        em["To"] = to
        if config.desk.reply_to:
            em["Reply-To"] = config.desk.reply_to
        if row.author is None:  # sent by the desk itself, not by a person (RFC 3834)
            em["Auto-Submitted"] = "auto-replied"
        em["Subject"] = subject
        em["Date"] = format_datetime(now.astimezone(UTC))
        em["Message-ID"] = row.message_id
        if row.in_reply_to:
            em["In-Reply-To"] = _one_line(row.in_reply_to)
            em["References"] = _one_line(row.in_reply_to)
        em["X-Esimdesk-Ticket"] = reference
        em.set_content(row.body or "")
        for f in files:
            maintype, _, subtype = (f.content_type or "").partition("/")
            if not maintype or not subtype or maintype == "multipart":
                maintype, subtype = "application", "octet-stream"
            em.add_attachment(
                f.data, maintype=maintype, subtype=subtype, filename=_one_line(f.filename) or "attachment"
            )
    except (ValueError, TypeError, IndexError) as exc:
        raise PermanentFailure(f"unusable header: {exc}") from None
    return em


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "esimdesk.invalid"


# -- delivering ------------------------------------------------------------------------
def _due(now: datetime) -> ColumnElement[bool]:
    return (
        (col(Message.kind) == MessageKind.OUTBOUND.value)
        & (col(Message.delivery) == DeliveryState.QUEUED.value)
        & or_(col(Message.next_attempt_at).is_(None), col(Message.next_attempt_at) <= now)
        & or_(col(Message.hold_until).is_(None), col(Message.hold_until) <= now)  # a person's mail waits out its hold
    )


def _claim(
    desk: Desk, message_id: int, now: datetime, config: DeskConfig
) -> tuple[Message, str, list[OutgoingFile]] | None:
    """Claim one due message (pushes its next attempt out by CLAIM_LEASE and
    gives it a Message-ID): (row, ticket reference, its attachments); None if
    another sender took it."""
    from app.mail.attachments import outgoing_of

    with desk.session() as session:
        res = cast(
            "CursorResult[Any]",
            session.execute(
                update(Message)
                .where(col(Message.id) == message_id, _due(now))
                .values(next_attempt_at=now + CLAIM_LEASE)
            ),
        )
        if res.rowcount != 1:
            return None
        row = session.get(Message, message_id)
        if row is None:
            return None
        session.refresh(row)
        if not row.message_id:
            row.message_id = make_msgid(domain=_domain(config.desk_address))
        ticket = session.get(Ticket, row.ticket_id)
        reference = ticket.reference if ticket else ""
        files = outgoing_of(session, message_id)
    return row, reference, files


def deliver(
    desk: Desk, config: DeskConfig, *, now: datetime | None = None, limit: int | None = None, db_url: str | None = None
) -> OutboxSummary:
    """Send what is due; one transaction per message."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    transport = transport_for(config, db_url or getattr(desk, "url", None))
    summary = OutboxSummary(transport.name)
    with desk.reader() as session:
        stmt = select(col(Message.id)).where(_due(now)).order_by(col(Message.next_attempt_at), col(Message.id))
        if limit is not None:
            stmt = stmt.limit(limit)
        ids = [mid for mid in session.scalars(stmt) if mid is not None]
    try:
        for message_id in ids:
            claimed = _claim(desk, message_id, now, config)
            if claimed is None:
                continue
            row, reference, files = claimed
            outcome = _attempt(transport, row, reference, config, now, files)
            summary.items.append(_record(desk, row, reference, outcome, config, now))
            if isinstance(outcome, TemporaryFailure) and outcome.fatal_for_batch:
                break  # the server is unreachable: the rest wait for the next run
    finally:
        transport.close()
    return summary


def _attempt(
    transport: SmtpTransport | MaildirTransport,
    row: Message,
    reference: str,
    config: DeskConfig,
    now: datetime,
    files: Sequence[OutgoingFile] = (),
) -> Exception | None:
    try:
        em = build_email(row, reference, config, now, files)
        transport.send(
            em,
            config.smtp.from_addr or config.desk_address,
            em["To"].addresses[0].addr_spec if em["To"].addresses else row.to_addr or "",
        )
    except (TemporaryFailure, PermanentFailure) as exc:
        return exc
    return None


def _record(
    desk: Desk, row: Message, reference: str, outcome: Exception | None, config: DeskConfig, now: datetime
) -> Delivery:
    with desk.session() as session:
        msg = session.get(Message, row.id)
        assert msg is not None  # claimed by this sender a moment ago
        msg.attempts += 1
        msg.message_id = row.message_id
        if outcome is None:
            msg.delivery = DeliveryState.SENT.value
            msg.sent_at = now
            msg.next_attempt_at = None
            msg.last_error = None
            result = "sent"
        elif isinstance(outcome, TemporaryFailure) and msg.attempts < max(1, config.smtp.max_attempts):
            msg.last_error = str(outcome)[:1000]
            msg.next_attempt_at = now + backoff(msg.attempts)
            result = "retry"
        else:
            reason = (
                str(outcome)
                if isinstance(outcome, PermanentFailure)
                else f"gave up after {msg.attempts} attempts: {outcome}"
            )
            msg.delivery = DeliveryState.FAILED.value
            msg.last_error = reason[:1000]
            msg.next_attempt_at = None
            history.record(
                session,
                msg.ticket_id,
                None,
                "delivery_failed",
                now,
                message=msg.id,
                attempts=msg.attempts,
                error=reason[:300],
                template=msg.template,
            )
            result = "failed"
            log.warning("outbox: message %s of %s failed permanently: %s", msg.id, reference, reason)
        delivery = Delivery(
            id=stored_id(msg),
            ticket=reference,
            to=msg.to_addr,
            result=result,
            attempts=msg.attempts,
            error=msg.last_error,
            next_attempt_at=msg.next_attempt_at.isoformat() if msg.next_attempt_at else None,
        )
    return delivery


def list_outbox(desk: Desk, states: tuple[str, ...] = ("queued", "failed"), limit: int = 200) -> list[dict[str, Any]]:
    """Outbound messages in `states`, oldest first (the subject and address
    are as stored: make them inert before showing them on a screen)."""
    with desk.reader() as session:
        rows = session.execute(
            select(Message, col(Ticket.reference))
            .join(Ticket, col(Ticket.id) == col(Message.ticket_id))
            .where(col(Message.kind) == MessageKind.OUTBOUND.value, col(Message.delivery).in_(states))
            .order_by(col(Message.created_at), col(Message.id))
            .limit(limit)
        ).all()
        return [
            {
                "id": m.id,
                "ticket": ref,
                "to": m.to_addr,
                "subject": m.subject,
                "template": m.template,
                "delivery": m.delivery,
                "attempts": m.attempts,
                "created_at": m.created_at.isoformat(),
                "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "last_error": m.last_error,
            }
            for m, ref in rows
        ]


def delivery_counts(session: Session) -> dict[str, int]:
    """Outbound messages per delivery state (for the dashboard: failed > 0 needs a person)."""
    from sqlalchemy import func

    rows = session.execute(
        select(col(Message.delivery), func.count(col(Message.id)))
        .where(col(Message.kind) == MessageKind.OUTBOUND.value)
        .group_by(col(Message.delivery))
    ).all()
    counts = {s.value: 0 for s in DeliveryState}
    counts.update({state: n for state, n in rows if state})
    return counts
