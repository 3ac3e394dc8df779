"""Quarantine review: list, review (inert, bounded), release as a ticket, discard; roles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import AccessDenied, IllegalTransition, InputError, NotFound
from app.mail import quarantine as qsvc
from app.mail.ingest import ingest_paths
from mail_helpers import CONFIG, DATA, NOW, add_staff, new_desk
from models import Message, Quarantine, Ticket, TicketEvent


@pytest.fixture()
def desk(tmp_path):
    d = new_desk(tmp_path)
    yield d
    d.dispose()


def hold(desk, tmp_path, raw: bytes, name: str = "q.eml") -> int:
    f = tmp_path / name
    f.write_bytes(raw)
    (item,) = ingest_paths(desk, [f], now=NOW, config=CONFIG).items
    assert item.result == "quarantined"
    with desk.session() as s:
        return s.scalars(select(Quarantine.id).order_by(Quarantine.id.desc())).first()


HOSTILE_NO_FROM = b"Subject: [bold]x[/bold] \x1b]52;c;QUJD\x07 hi\nMessage-ID: <q1@example.com>\n\nbody \x1b[2J text\n"


def test_review_is_inert_and_role_checked(desk, tmp_path):
    qid = hold(desk, tmp_path, HOSTILE_NO_FROM)
    agent = add_staff(desk, "alice", "agent")
    senior = add_staff(desk, "sam", "senior")
    with desk.session() as s:
        (row,) = qsvc.list_quarantine(s, agent)
        assert (row.id, row.reason, row.message_id) == (qid, "no From address", "<q1@example.com>")
        assert "body  text" in row.preview and "\x1b" not in row.preview  # a short inert preview in the list too
        v = qsvc.review(s, agent, qid)
        assert v.subject == "[bold]x[/bold] hi" and "\x1b" not in v.preview and "body  text" in v.preview
        assert s.get(Quarantine, qid).raw == HOSTILE_NO_FROM  # kept byte for byte
        with pytest.raises(AccessDenied):
            qsvc.review(s, senior, qid)
        with pytest.raises(NotFound):
            qsvc.review(s, agent, 999)


def test_big_message_preview_is_bounded(desk, tmp_path):
    qid = hold(desk, tmp_path, b"Subject: big\n\n" + b"A" * 500_000)
    agent = add_staff(desk, "alice", "agent")
    with desk.session() as s:
        v = qsvc.review(s, agent, qid)
    assert v.size > 500_000 and len(v.preview) <= qsvc.PREVIEW_CHARS
    with desk.session() as s:
        (row,) = qsvc.list_quarantine(s, agent)
    assert len(row.preview) < 4200 and "more bytes not shown" in row.preview


def test_release_creates_a_ticket_and_logs_it(desk, tmp_path):
    qid = hold(desk, tmp_path, (DATA / "no_from.eml").read_bytes())
    agent = add_staff(desk, "alice", "agent")
    with desk.session() as s:
        ref = qsvc.release(s, agent, qid, kind="complaint", now=NOW, config=CONFIG)
    with desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        q = s.get(Quarantine, qid)
        msg = s.scalars(select(Message).where(Message.ticket_id == t.id)).one()
        ev = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.action == "released_from_quarantine")
        ).one()
    assert t.kind == "complaint" and ref.startswith("CMP-")
    assert (q.state, q.resolved_by, q.ticket_id) == ("released", "alice", t.id)
    assert msg.body.strip() == "Who sent this?" and ev.actor == "alice"
    with desk.session() as s, pytest.raises(IllegalTransition):
        qsvc.release(s, agent, qid, now=NOW, config=CONFIG)
    # the same bytes again: a duplicate of the released message
    again = ingest_paths(desk, [tmp_path / "q.eml"], now=NOW, config=CONFIG).items[0]
    assert (again.result, again.ticket) == ("duplicate", ref)


def test_discard_keeps_the_bytes_and_needs_the_role(desk, tmp_path):
    qid = hold(desk, tmp_path, b"\x00\x01 not a message at all")
    admin = add_staff(desk, "root2", "admin")
    senior = add_staff(desk, "sam", "senior")
    with desk.session() as s, pytest.raises(AccessDenied):
        qsvc.discard(s, senior, qid, now=NOW)
    with desk.session() as s:
        qsvc.discard(s, admin, qid, now=NOW)
    with desk.session() as s:
        q = s.get(Quarantine, qid)
        assert (q.state, q.resolved_by, q.raw) == ("discarded", "root2", b"\x00\x01 not a message at all")
        assert qsvc.count_held(s) == 0
        with pytest.raises(InputError):
            qsvc.release(s, admin, qid, kind="banana", now=NOW, config=CONFIG)
