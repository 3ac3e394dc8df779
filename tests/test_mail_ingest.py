"""Ingest: exact summaries, routing, duplicates, receipt times, attachments, Maildir and mbox."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.errors import InputError
from app.mail.ingest import ingest_paths
from mail_helpers import CONFIG, DATA, NOW, add_order, copy_fixture, eml, make_maildir, new_desk
from models import Attachment, Message, Quarantine, RefundCase, Ticket, TicketEvent
from models.enums import TicketStatus


@pytest.fixture()
def desk(tmp_path):
    d = new_desk(tmp_path)
    yield d
    d.dispose()


def run(desk, *paths):
    return ingest_paths(desk, [str(p) for p in paths], now=NOW, config=CONFIG).as_dict()


def eml_file(path, *args, **kw):
    """`path` holding the message `eml(*args, **kw)` builds."""
    path.write_bytes(eml(*args, **kw))
    return path


def counts(s):
    return s["read"], s["created"], s["linked"], s["duplicate"], s["quarantined"]


def ticket(desk, reference):
    with desk.session() as s:
        return s.scalars(select(Ticket).where(Ticket.reference == reference)).one()


def scalar(desk, stmt):
    with desk.session() as s:
        return s.execute(stmt).scalar_one()


def test_whole_fixture_batch_summary_is_exact_and_rerun_is_all_duplicates(desk, tmp_path):
    names = sorted(p.name for p in DATA.glob("*.eml"))
    md = make_maildir(tmp_path / "Maildir", {n: (DATA / n).read_bytes() for n in names[:5]}, "new")
    for n in names[5:]:
        shutil.copy(DATA / n, md / "cur" / n)
    s = run(desk, md, DATA / "complaints.mbox")
    assert counts(s) == (len(names) + 3, len(names) + 3 - 1, 0, 0, 1)
    assert s["read"] == s["created"] + s["linked"] + s["duplicate"] + s["quarantined"] == len(s["items"])
    (q,) = [i for i in s["items"] if i["result"] == "quarantined"]
    assert q["reason"] == "no From address" and q["source"].endswith("no_from.eml") and q["ticket"] is None
    assert q["message_id"] == "<nofrom-0001@example.com>"
    assert all(set(i) == {"source", "message_id", "result", "ticket", "reason"} for i in s["items"])
    assert all(i["reason"] is None for i in s["items"] if i["result"] != "quarantined")
    before = scalar(desk, select(func.count(Message.id))), scalar(desk, select(func.count(Ticket.id)))

    again = run(desk, md, DATA / "complaints.mbox")
    assert counts(again) == (s["read"], 0, 0, s["read"], 0)
    assert [i["ticket"] for i in again["items"] if i["ticket"]] == [i["ticket"] for i in s["items"] if i["ticket"]]
    assert (scalar(desk, select(func.count(Message.id))), scalar(desk, select(func.count(Ticket.id)))) == before
    assert scalar(desk, select(func.count(Quarantine.id))) == 1


def test_duplicate_within_one_batch_and_without_message_id(desk, tmp_path):
    a = eml_file(tmp_path / "a.eml", "Hello there")  # no Message-ID: sender|date|body decides
    b = eml_file(tmp_path / "b.eml", "Hello there, again")  # same sender, date and body; other subject
    c = eml_file(tmp_path / "c.eml", "Hello there", body="a different body")
    s = run(desk, a, a, b, c)
    assert [i["result"] for i in s["items"]] == ["created", "duplicate", "duplicate", "created"]
    assert s["items"][1]["ticket"] == s["items"][0]["ticket"]


def test_complaint_clock_starts_at_date_header(desk, tmp_path):
    f = copy_fixture("multipart_alternative.eml", tmp_path / "m.eml")
    (item,) = run(desk, f)["items"]
    assert item["result"] == "created" and item["ticket"].startswith("CMP-2026-")
    t = ticket(desk, item["ticket"])
    assert t.kind == "complaint" and t.status == TicketStatus.SUBMITTED
    assert t.received_at == datetime(2026, 11, 17, 12, 3, tzinfo=UTC)  # Tue 14:03 +02:00
    # two business days later, end of day in the desk's zone (Tallinn)
    assert t.ack_due_at.astimezone(UTC).date().isoformat() == "2026-11-19"
    assert t.due_clock == "acknowledgment"


def test_missing_date_uses_file_mtime(desk, tmp_path):
    f = copy_fixture("missing_headers.eml", tmp_path / "m.eml")
    stamp = datetime(2026, 11, 20, 10, 30, tzinfo=UTC).timestamp()
    os.utime(f, (stamp, stamp))
    (item,) = run(desk, f)["items"]
    t = ticket(desk, item["ticket"])
    assert t.kind == "inquiry" and t.subject == ""  # no subject: an inquiry, not hostile
    assert t.received_at == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def test_attachments_are_stored_on_the_ticket(desk, tmp_path):
    f = copy_fixture("attachment_png.eml", tmp_path / "a.eml")
    (item,) = run(desk, f)["items"]
    t = ticket(desk, item["ticket"])
    with desk.session() as s:
        msg = s.scalars(select(Message).where(Message.ticket_id == t.id)).one()
        atts = s.scalars(select(Attachment).where(Attachment.message_id == msg.id).order_by(Attachment.id)).all()
        assert [(a.filename, a.content_type, a.size, a.data) for a in atts][0] == (
            "screenshot.png",
            "image/png",
            73,
            (DATA / "screenshot.png").read_bytes(),
        )
        assert len(atts) == 2


def test_refund_request_with_known_order(desk, tmp_path):
    add_order(desk, "ORD-1234567890-ABCD", brand="airalo")
    f = eml_file(tmp_path / "r.eml", "Refund Request ORD-1234567890-ABCD", "Please refund, the eSIM never arrived.")
    (item,) = run(desk, f)["items"]
    assert item["result"] == "created" and item["ticket"].startswith("RFD-2026-")
    t = ticket(desk, item["ticket"])
    with desk.session() as s:
        case = s.scalars(select(RefundCase).where(RefundCase.ticket_id == t.id)).one()
        out = s.scalars(select(Message).where(Message.ticket_id == t.id, Message.kind == "outbound")).all()
    assert case.policy == "airalo" and t.order_id is not None and t.kind == "refund"
    assert t.review_due_at is not None and t.due_clock == "refund_review"
    # nothing to ask; acknowledged at once ([refunds] auto_acknowledge, esimium 4.2), so the review clock governs
    assert [m.template for m in out] == ["refund_acknowledgment"] and t.acknowledged_at is not None


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Refund Request", "I want my money back"),  # no order number at all
    ],
)  # a quoted number the desk does not hold is kept, not asked for again: tests/test_orders_mail.py
def test_refund_request_without_usable_order_asks_the_customer(desk, tmp_path, subject, body):
    f = eml_file(tmp_path / "r.eml", subject, body, sender="payer@example.com")
    (item,) = run(desk, f)["items"]
    t = ticket(desk, item["ticket"])
    assert t.kind == "refund" and t.order_id is None and t.info_needed == "order_number"
    with desk.session() as s:
        (q,) = s.scalars(
            select(Message).where(
                Message.ticket_id == t.id, Message.kind == "outbound", Message.template != "refund_acknowledgment"
            )
        ).all()
        case = s.scalars(select(RefundCase).where(RefundCase.ticket_id == t.id)).one()
    assert q.delivery == "queued" and q.to_addr == "payer@example.com" and t.reference in q.subject
    assert "order number" in q.body and case.policy == "esimium"


def test_reply_threads_by_subject_reference_and_by_in_reply_to(desk, tmp_path):
    first = eml_file(tmp_path / "1.eml", "Complaint Regarding eSIM Service", msgid="<c1@example.com>")
    ref = run(desk, first)["items"][0]["ticket"]
    by_subject = eml_file(
        tmp_path / "2.eml",
        f"Re: [{ref}] We received your complaint",
        "Thanks, my phone is +372 5555 1234",
        msgid="<c2@example.com>",
    )
    by_header = eml_file(
        tmp_path / "3.eml",
        "Re: something else",
        "more details",
        msgid="<c3@example.com>",
        extra="In-Reply-To: <c1@example.com>\nReferences: <c1@example.com>\n",
    )
    unknown = eml_file(tmp_path / "4.eml", "Re: CMP-2026-999999 status?", msgid="<c4@example.com>")
    s = run(desk, by_subject, by_header, unknown)
    assert [(i["result"], i["ticket"]) for i in s["items"][:2]] == [("linked", ref), ("linked", ref)]
    assert s["items"][2]["result"] == "created" and s["items"][2]["ticket"].startswith("INQ-")
    t = ticket(desk, ref)
    with desk.session() as sess:
        n = sess.execute(
            select(func.count(Message.id)).where(Message.ticket_id == t.id, Message.kind == "inbound")
        ).scalar_one()
        replies = sess.execute(
            select(func.count(TicketEvent.id)).where(TicketEvent.ticket_id == t.id, TicketEvent.action == "reply")
        ).scalar_one()
    assert (n, replies) == (3, 2)


def test_escalation_routing_one_level_only(desk, tmp_path):
    first = eml_file(tmp_path / "1.eml", "Complaint Regarding eSIM Service", msgid="<e1@example.com>")
    ref = run(desk, first)["items"][0]["ticket"]
    # too early: the complaint has no communicated resolution -> correspondence on the complaint
    early = eml_file(tmp_path / "2.eml", f"Escalation: {ref}", "I am not satisfied", msgid="<e2@example.com>")
    assert [(i["result"], i["ticket"]) for i in run(desk, early)["items"]] == [("linked", ref)]
    with desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        t.status = TicketStatus.RESOLUTION_COMMUNICATED.value
        t.acknowledged_at = NOW
    esc = eml_file(
        tmp_path / "3.eml", f"Escalation: {ref}", "The proposed resolution does not help me.", msgid="<e3@example.com>"
    )
    (item,) = run(desk, esc)["items"]
    assert item["result"] == "created" and item["ticket"].startswith("ESC-2026-")
    e = ticket(desk, item["ticket"])
    assert e.escalation_of_id == ticket(desk, ref).id and e.final_response_due_at is not None
    second = eml_file(tmp_path / "4.eml", f"Escalation: {ref}", "Escalating again!", msgid="<e4@example.com>")
    (item2,) = run(desk, second)["items"]
    assert item2["result"] == "linked"
    with desk.session() as s:
        assert s.execute(select(func.count(Ticket.id)).where(Ticket.kind == "escalation")).scalar_one() == 1
    # an escalation naming no known ticket is an inquiry for triage
    stray = eml_file(tmp_path / "5.eml", "Escalation: CMP-2026-123456", msgid="<e5@example.com>")
    assert run(desk, stray)["items"][0]["ticket"].startswith("INQ-")


def test_mbox_from_lines_in_bodies(desk):
    s = run(desk, DATA / "complaints.mbox")
    assert counts(s) == (3, 3, 0, 0, 0)
    assert [i["source"].rsplit("#", 1)[1] for i in s["items"]] == ["1", "2", "3"]
    with desk.session() as sess:
        bodies = sess.scalars(select(Message.body).order_by(Message.id)).all()
    assert all("From here on the eSIM did not work.\nFrom the airport I tried again." in b for b in bodies)
    assert all(b.rstrip().endswith("Bye") for b in bodies)


def test_unreadable_path_refuses_before_reading_anything(desk, tmp_path):
    good = copy_fixture("latin1.eml", tmp_path / "ok.eml")
    with pytest.raises(InputError, match="no such file"):
        run(desk, good, tmp_path / "missing.eml")
    with pytest.raises(InputError, match="not a Maildir"):
        run(desk, tmp_path)
    assert scalar(desk, select(func.count(Message.id))) == 0


def test_message_that_cannot_be_routed_is_quarantined_not_lost(desk, tmp_path, monkeypatch):
    from app.mail import tickets

    def boom(*a, **k):
        raise RuntimeError("workflow exploded")

    monkeypatch.setattr(tickets, "new_inquiry", boom)
    f = eml_file(tmp_path / "x.eml", "Just a question", msgid="<boom@example.com>")
    (item,) = run(desk, f)["items"]
    assert item["result"] == "quarantined" and "workflow exploded" in item["reason"]
    with desk.session() as s:
        q = s.scalars(select(Quarantine)).one()
        assert q.raw == f.read_bytes() and s.execute(select(func.count(Ticket.id))).scalar_one() == 0
    monkeypatch.undo()
    assert run(desk, f)["items"][0]["result"] == "duplicate"  # held in quarantine already


def test_attachment_over_the_cap_is_recorded_not_stored(desk, tmp_path, monkeypatch):
    from email.message import EmailMessage

    from app.mail import parse
    from app.mail.attachments import list_attachments, save_attachment

    monkeypatch.setattr(parse, "ATTACHMENT_STORE_CAP", 1024 * 1024)
    em = EmailMessage()
    em["From"] = "big@example.com"
    em["Subject"] = "Complaint Regarding eSIM Service"
    em.set_content("video of the problem attached")
    em.add_attachment(b"\x00" * (2 * 1024 * 1024), maintype="video", subtype="mp4", filename="../../etc/passwd.mp4")
    em.add_attachment(b"\x89PNG small", maintype="image", subtype="png", filename="shot.png")
    f = tmp_path / "big.eml"
    f.write_bytes(em.as_bytes())
    (item,) = run(desk, f)["items"]
    t = ticket(desk, item["ticket"])
    with desk.session() as s:
        infos = list_attachments(s, t.id)
        assert [(i.filename, i.size, i.stored) for i in infos] == [
            ("../../etc/passwd.mp4", 2 * 1024 * 1024, False),
            ("shot.png", 10, True),
        ]
        assert s.execute(select(Attachment.data).where(Attachment.id == infos[0].id)).scalar_one() is None
        ev = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.action == "attachment_not_stored")
        ).one()
        assert str(2 * 1024 * 1024) in ev.detail
        with pytest.raises(InputError, match="too large"):
            save_attachment(s, infos[0].id, tmp_path)
        saved = save_attachment(s, infos[1].id, tmp_path)
    assert saved.parent == tmp_path and saved.read_bytes() == b"\x89PNG small"


def test_reply_with_the_order_number_links_the_order(desk, tmp_path):
    add_order(desk, "ORD-5555555555-WXYZ", brand="airalo")
    f = eml_file(
        tmp_path / "r.eml", "Refund Request", "refund please", sender="payer@example.com", msgid="<rr1@example.com>"
    )
    ref = run(desk, f)["items"][0]["ticket"]
    answer = eml_file(
        tmp_path / "a.eml",
        f"Re: Your refund request {ref}: order number needed",
        "It is ORD-5555555555-WXYZ, thanks",
        sender="payer@example.com",
        msgid="<rr2@example.com>",
    )
    assert run(desk, answer)["items"][0]["result"] == "linked"
    t = ticket(desk, ref)
    with desk.session() as s:
        case = s.scalars(select(RefundCase).where(RefundCase.ticket_id == t.id)).one()
        linked = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.action == "order_linked")
        ).one()
    assert t.order_id is not None and t.info_needed is None and t.brand == "airalo" and case.policy == "airalo"
    assert "ORD-5555555555-WXYZ" in linked.detail
