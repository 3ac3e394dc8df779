"""Intake on both engines (SQLite always; PostgreSQL when a test server is set)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.db import open_desk
from app.mail import quarantine as qsvc
from app.mail.ingest import ingest_paths
from mail_helpers import CONFIG, DATA, NOW, add_order, add_staff, eml
from models import Message, Quarantine, Ticket
from pg_fixtures import engine_url  # noqa: F401  (fixture)


def test_batch_dedupe_threading_and_refunds_on_each_engine(engine_url, tmp_path):
    desk = open_desk(engine_url)
    try:
        add_order(desk)
        first = tmp_path / "c.eml"
        first.write_bytes(eml("Complaint Regarding eSIM Service", msgid="<pg1@example.com>"))
        refund = tmp_path / "r.eml"
        refund.write_bytes(eml("Refund Request ORD-1234567890-ABCD", "refund please", msgid="<pg2@example.com>"))
        paths = [
            first,
            refund,
            DATA / "hostile.eml",
            DATA / "attachment_png.eml",
            DATA / "no_from.eml",
            DATA / "complaints.mbox",
        ]
        s = ingest_paths(desk, paths, now=NOW, config=CONFIG).as_dict()
        assert (s["read"], s["created"], s["quarantined"]) == (8, 7, 1)
        ref = s["items"][0]["ticket"]
        reply = tmp_path / "re.eml"
        reply.write_bytes(
            eml(f"Re: {ref}", "more", msgid="<pg3@example.com>", extra="In-Reply-To: <pg1@example.com>\n")
        )
        again = ingest_paths(desk, [*paths, reply], now=NOW, config=CONFIG).as_dict()
        assert (again["duplicate"], again["linked"], again["items"][-1]["ticket"]) == (8, 1, ref)
        with desk.session() as sess:
            # 7 received + 1 reply in, and the refund request's automatic acknowledgment out (eSIMium 4.2)
            assert sess.execute(select(func.count(Message.id)).where(Message.kind == "inbound")).scalar_one() == 8
            assert sess.scalars(select(Message.template).where(Message.kind == "outbound")).all() == [
                "refund_acknowledgment"
            ]
            assert sess.execute(select(func.count(Ticket.id))).scalar_one() == 7
            assert sess.execute(select(func.count(Quarantine.id))).scalar_one() == 1
            hostile = sess.scalars(
                select(Message.subject).where(Message.message_id == "<hostile-0001@example.net>")
            ).one()
            assert "\x1b[2J" in hostile
        agent = add_staff(desk, "alice", "agent")
        with desk.session() as sess:
            (held,) = qsvc.list_quarantine(sess, agent)
            assert held.reason == "no From address" and held.size == (DATA / "no_from.eml").stat().st_size
            assert "Who sent this?" in qsvc.review(sess, agent, held.id).preview
            ref2 = qsvc.release(sess, agent, held.id, now=NOW, config=CONFIG)
        assert ref2.startswith("INQ-")
    finally:
        desk.dispose()
