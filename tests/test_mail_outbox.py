"""Outbound delivery against a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import replace
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.config import SmtpConfig
from app.mail.ingest import ingest_paths
from app.mail.outbox import backoff, deliver, delivery_counts, outbox_maildir
from mail_helpers import CONFIG, NOW, eml, new_desk
from models import Message, Ticket, TicketEvent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    """Accepts, or answers the first `refuse` DATA commands with `code`."""

    def __init__(self, refuse: int = 0, code: str = "451 4.3.0 try again later") -> None:
        self.refuse = refuse
        self.code = code
        self.accepted: list[tuple[str, list[str], bytes]] = []
        self.tries = 0

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.tries <= self.refuse:
            return self.code
        self.accepted.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK queued"


@pytest.fixture()
def smtp():
    servers = []

    def start(handler: Handler):
        port = free_port()
        c = Controller(handler, hostname="127.0.0.1", port=port)
        c.start()
        servers.append(c)
        return replace(CONFIG, smtp=SmtpConfig(host="127.0.0.1", port=port, tls="none", timeout=5, max_attempts=3))

    yield start
    for c in servers:
        c.stop()


@pytest.fixture()
def desk(tmp_path):
    d = new_desk(tmp_path)
    yield d
    d.dispose()


def queue_question(desk, tmp_path, n: int = 1) -> list[str]:
    """Refund requests without an order number: each queues one question."""
    refs = []
    for i in range(n):
        f = tmp_path / f"r{i}.eml"
        f.write_bytes(
            eml("Refund Request", f"I want a refund {i}", sender=f"payer{i}@example.com", msgid=f"<rq{i}@example.com>")
        )
        refs.append(ingest_paths(desk, [f], now=NOW, config=CONFIG).items[0].ticket)
    return refs


def outbound(desk):
    with desk.session() as s:
        return s.scalars(select(Message).where(Message.kind == "outbound").order_by(Message.id)).all()


def test_delivered_over_smtp_with_reference_and_threading(desk, tmp_path, smtp):
    h = Handler()
    cfg = smtp(h)
    (ref,) = queue_question(desk, tmp_path)
    s = deliver(desk, cfg, now=NOW + timedelta(minutes=1))
    assert (s.transport, [i.result for i in s.items]) == ("smtp", ["sent"])
    ((mail_from, rcpt, data),) = h.accepted
    assert rcpt == ["payer0@example.com"] and mail_from == cfg.smtp.from_addr
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert ref in msg["Subject"] and msg["In-Reply-To"] == "<rq0@example.com>"
    (row,) = outbound(desk)
    assert row.delivery == "sent" and row.attempts == 1 and row.sent_at == NOW + timedelta(minutes=1)
    assert row.message_id == msg["Message-ID"]
    # the customer's answer threads back by In-Reply-To
    reply = tmp_path / "reply.eml"
    reply.write_bytes(
        eml(
            "Re: your question",
            "ORD-1234567890-ABCD",
            sender="payer0@example.com",
            msgid="<ans@example.com>",
            extra=f"In-Reply-To: {row.message_id}\n",
        )
    )
    item = ingest_paths(desk, [reply], now=NOW + timedelta(hours=1), config=CONFIG).items[0]
    assert (item.result, item.ticket) == ("linked", ref)
    # nothing left to send
    assert deliver(desk, cfg, now=NOW + timedelta(hours=2)).items == []


def test_refused_then_accepted_retries_with_backoff(desk, tmp_path, smtp):
    h = Handler(refuse=1, code="451 4.3.0 mailbox busy")
    cfg = smtp(h)
    queue_question(desk, tmp_path)
    first = deliver(desk, cfg, now=NOW)
    assert [i.result for i in first.items] == ["retry"] and h.accepted == []
    (row,) = outbound(desk)
    assert row.delivery == "queued" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at == NOW + backoff(1)
    assert deliver(desk, cfg, now=NOW + timedelta(seconds=30)).items == []  # not due yet
    second = deliver(desk, cfg, now=NOW + timedelta(minutes=2))
    assert [i.result for i in second.items] == ["sent"] and len(h.accepted) == 1
    (row,) = outbound(desk)
    assert (row.delivery, row.attempts, row.last_error) == ("sent", 2, None)


def test_permanent_refusal_fails_at_once_and_shows_on_the_ticket(desk, tmp_path, smtp):
    h = Handler(refuse=10, code="550 5.1.1 no such user")
    cfg = smtp(h)
    (ref,) = queue_question(desk, tmp_path)
    s = deliver(desk, cfg, now=NOW)
    assert [i.result for i in s.items] == ["failed"]
    (row,) = outbound(desk)
    assert row.delivery == "failed" and "550" in row.last_error and row.next_attempt_at is None
    with desk.session() as sess:
        t = sess.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        ev = sess.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.action == "delivery_failed")
        ).one()
    assert "550" in ev.detail
    with desk.session() as sess:
        assert delivery_counts(sess) == {"queued": 0, "sent": 0, "failed": 1}
    assert deliver(desk, cfg, now=NOW + timedelta(days=1)).items == []  # never retried


def test_temporary_failures_give_up_after_max_attempts(desk, tmp_path, smtp):
    cfg = smtp(Handler(refuse=10))
    queue_question(desk, tmp_path)
    now = NOW
    results = []
    for _ in range(3):
        results += [i.result for i in deliver(desk, cfg, now=now).items]
        now += timedelta(hours=7)
    assert results == ["retry", "retry", "failed"]
    (row,) = outbound(desk)
    assert row.delivery == "failed" and row.attempts == 3 and "gave up after 3 attempts" in row.last_error


def test_unreachable_server_stops_the_batch_and_keeps_everything_queued(desk, tmp_path):
    cfg = replace(CONFIG, smtp=SmtpConfig(host="127.0.0.1", port=free_port(), timeout=2, max_attempts=5))
    queue_question(desk, tmp_path, n=2)
    s = deliver(desk, cfg, now=NOW)
    assert [i.result for i in s.items] == ["retry"]  # the second one was not even tried
    rows = outbound(desk)
    assert [r.delivery for r in rows] == ["queued", "queued"] and [r.attempts for r in rows] == [1, 0]
    assert "cannot reach SMTP server" in rows[0].last_error


def test_maildir_fallback_and_its_location(desk, tmp_path):
    queue_question(desk, tmp_path, n=2)
    target = tmp_path / "out-box"
    cfg = replace(CONFIG, outbox_maildir=str(target))
    s = deliver(desk, cfg, now=NOW, limit=1)
    assert (s.transport, [i.result for i in s.items]) == ("maildir", ["sent"])
    assert len(list((target / "new").iterdir())) == 1
    assert [r.delivery for r in outbound(desk)] == ["sent", "queued"]
    assert outbox_maildir(CONFIG, f"sqlite:///{tmp_path}/x/desk.sqlite") == tmp_path / "x" / "outbox"


def test_backoff_is_exponential_and_capped():
    assert [backoff(a) for a in (1, 2, 3)] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert backoff(30) == timedelta(hours=6)
