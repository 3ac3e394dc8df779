"""Mail that must not be answered or mis-filed (real-looking .eml through
`ingest_paths`): auto-responders (RFC 3834), bounces (RFC 3464), the daily
cap on automatic mail, strangers quoting a reference, replies to closed
tickets, oversized mail."""

from __future__ import annotations

import mailbox
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from app import history
from app.config import MailConfig
from app.identity import Actor
from app.mail.ingest import ingest_paths
from app.mail.outbox import deliver
from app.mail.quarantine import release
from app.queue_query import QueueQuery
from app.queue_query import page as queue_page
from app.workflow import add_note
from mail_helpers import CONFIG, NOW, add_staff, eml
from models import Attachment, Message, Quarantine, Staff, Ticket
from workflow_helpers import CONFIG as WF_CONFIG
from workflow_helpers import T0, new_complaint, walk
from workflow_helpers import add_staff as wf_staff

# `desk` (conftest): SQLite, or PostgreSQL in the suite's second pass


def ingest(desk, tmp_path, data: bytes, name: str, now=NOW, config=CONFIG):
    path = tmp_path / name
    path.write_bytes(data)
    return ingest_paths(desk, [path], now=now, config=config).items[0]


def count(desk, stmt) -> int:
    with desk.reader() as s:
        return s.execute(stmt).scalar_one()


def outbound(desk) -> list[Message]:
    with desk.reader() as s:
        rows = list(s.scalars(select(Message).where(Message.kind == "outbound").order_by(Message.id)))
        s.expunge_all()
        return rows


MACHINE_HEADERS = [
    ("Auto-Submitted: auto-replied\n", "cust@example.com"),
    ("Auto-Submitted: auto-generated\n", "cust@example.com"),
    ("Auto-Submitted: auto-notified; owner-email=x@example.com\n", "cust@example.com"),
    ("Precedence: bulk\n", "cust@example.com"),
    ("Precedence: junk\n", "cust@example.com"),
    ("Precedence: list\n", "cust@example.com"),
    ("Precedence: auto_reply\n", "cust@example.com"),
    ("X-Autoreply: yes\n", "cust@example.com"),
    ("X-Autorespond: Out of office\n", "cust@example.com"),
    ("List-Id: eSIM news <news.example.com>\n", "cust@example.com"),
    ("Return-Path: <>\n", "cust@example.com"),
    ("", "MAILER-DAEMON@mx.example.com"),
    ("", "postmaster@example.com"),
    ("", "noreply@shop.example.com"),
    ("", "No-Reply@shop.example.com"),
    ("", "do-not-reply+orders@shop.example.com"),
    ("", "bounces-123@lists.example.com"),
    # Exchange's out-of-office reply: both headers together
    ("X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: cust@example.com\n", "cust@example.com"),
]


@pytest.mark.parametrize(
    "extra,sender", MACHINE_HEADERS, ids=[h.split(":")[0] or s.split("@")[0] for h, s in MACHINE_HEADERS]
)
@pytest.mark.parametrize("subject", ["Refund Request", "Complaint Regarding eSIM Service", "Out of office"])
def test_a_machine_gets_nothing_back_and_opens_no_ticket(desk, tmp_path, extra, sender, subject):
    item = ingest(desk, tmp_path, eml(subject, sender=sender, msgid="<auto1@example.com>", extra=extra), "a.eml")
    assert item.result == "quarantined" and item.reason.startswith("automatic reply"), item
    assert count(desk, select(func.count(Ticket.id))) == 0 and outbound(desk) == []


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Refund Request",
        "Automatic reply: Complaint Regarding eSIM Service",
        "AUTO: Refund Request",
        "Autoreply: Refund Request",
        "Abwesenheitsnotiz: Refund Request",
        "Automaatne vastus: Refund Request",
        "Réponse automatique : Refund Request",
    ],
)
def test_a_responders_subject_alone_marks_it_a_machine(desk, tmp_path, subject):
    """Responders that leave no header still start the subject their way: no ticket, no answer."""
    item = ingest(desk, tmp_path, eml(subject, "I am away until Monday.", msgid="<oof@example.com>"), "a.eml")
    assert item.result == "quarantined" and item.reason.startswith("automatic reply (Subject: "), item
    assert count(desk, select(func.count(Ticket.id))) == 0 and outbound(desk) == []


@pytest.mark.parametrize(
    "subject,sender",
    [
        ("Out of office SIM does not connect", "cust@example.com"),  # the words, but not a responder's prefix
        ("Complaint: my auto-renewal charged twice", "cust@example.com"),
        ("Refund Request", "noreplyfan@example.com"),  # a person whose address merely starts so
        ("Refund Request", "bouncer@example.com"),
    ],
)
def test_a_persons_mail_that_only_looks_like_a_machines_opens_a_ticket(desk, tmp_path, subject, sender):
    item = ingest(desk, tmp_path, eml(subject, sender=sender, msgid="<p1@example.com>"), "a.eml")
    assert item.result == "created", item


def test_the_desks_own_mail_come_back_is_never_answered(desk, tmp_path):
    """A message from the desk's own address (a forward rule or a list sent it
    back) is a loop: it opens nothing and gets nothing, even quoting a reference."""
    first = ingest(desk, tmp_path, eml("Complaint about activation", msgid="<c1@example.com>"), "c.eml")
    before = outbound(desk)
    sender = CONFIG.desk_address.upper()
    looped = eml(f"[{first.ticket}] We received your complaint", sender=sender, msgid="<loop@esimdesk.example>")
    item = ingest(desk, tmp_path, looped, "loop.eml")
    assert item.result == "quarantined" and "this desk's own address" in item.reason, item
    assert count(desk, select(func.count(Ticket.id))) == 1 and outbound(desk) == before


def test_auto_submitted_no_is_a_person(desk, tmp_path):
    item = ingest(desk, tmp_path, eml("Complaint about activation", extra="Auto-Submitted: no\n"), "a.eml")
    assert item.result == "created" and item.ticket.startswith("CMP-")


def _refund_question_sent(desk, tmp_path) -> tuple[str, Message]:
    """A refund request without an order number: the desk's automatic question, delivered (has a Message-ID)."""
    item = ingest(
        desk,
        tmp_path,
        eml("Refund Request", "Please refund my plan, it never worked.", msgid="<r1@example.com>"),
        "r.eml",
    )
    config = replace(CONFIG, outbox_maildir=str(tmp_path / "outbox"))
    assert deliver(desk, config, now=NOW).as_dict()["sent"] == 1
    return item.ticket, outbound(desk)[0]


def test_desks_own_automatic_mail_says_so(desk, tmp_path):
    _ref, question = _refund_question_sent(desk, tmp_path)
    sent = [
        message_from_bytes(bytes(m), policy=policy.default)
        for m in mailbox.Maildir(str(tmp_path / "outbox"), create=False)
    ]
    assert len(sent) == 1 and sent[0]["Auto-Submitted"] == "auto-replied" and question.author is None


def test_an_out_of_office_reply_joins_its_ticket_apart_and_moves_no_clock(desk, tmp_path):
    ref, question = _refund_question_sent(desk, tmp_path)
    with desk.reader() as s:
        before = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        due, status, paused = before.due_at, before.status, before.paused_since
    ooo = eml(
        f"Automatic reply: [{ref}] order number needed",
        "I am away until Monday.",
        msgid="<ooo@example.com>",
        extra=f"Auto-Submitted: auto-replied\nIn-Reply-To: {question.message_id}\n",
    )
    item = ingest(desk, tmp_path, ooo, "ooo.eml", now=NOW + timedelta(minutes=5))
    assert item.result == "linked" and item.ticket == ref
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert (t.due_at, t.status, t.paused_since) == (due, status, paused)
        stored = s.scalars(select(Message).where(Message.message_id == "<ooo@example.com>")).one()
        assert stored.automatic == "auto_reply" and stored.ticket_id == t.id
        actions = [e.action for e in history.events(s, t.id)]
        assert "automatic_reply" in actions and "reply" not in actions
        from app.workflow import timeline

        kinds = {i.kind for i in timeline(s, t.id) if i.ref_id == stored.id and i.kind != "event"}
        assert kinds == {"automatic"}
    assert len(outbound(desk)) == 1  # nothing sent back


DSN = """From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: complaints@esimdesk.example
Subject: Undelivered Mail Returned to Sender
Date: Mon, 23 Nov 2026 09:10:00 +0000
Message-ID: <dsn1@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"

--BOUND
Content-Type: text/plain; charset=us-ascii

This is the mail system. Your message could not be delivered to cust@example.com: mailbox unknown.

--BOUND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; cust@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <cust@example.com>: Recipient address rejected

--BOUND
Content-Type: text/rfc822-headers

From: complaints@esimdesk.example
To: cust@example.com
Subject: [{ref}] Your refund request: order number needed
Message-ID: {mid}
X-Esimdesk-Ticket: {ref}

--BOUND--
"""


def test_a_bounce_marks_the_message_it_reports_on(desk, tmp_path):
    ref, question = _refund_question_sent(desk, tmp_path)
    item = ingest(
        desk,
        tmp_path,
        DSN.format(ref=ref, mid=question.message_id).encode(),
        "dsn.eml",
        now=NOW + timedelta(minutes=10),
    )
    assert item.result == "linked" and item.ticket == ref
    with desk.reader() as s:
        msg = s.get(Message, question.id)
        assert msg.bounced_at is not None and "5.1.1" in msg.last_error
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert t.mail_flag == "bounced" and "bounced" in [e.action for e in history.events(s, t.id)]
        assert [r.mail_flag for r in queue_page(s, QueueQuery(), NOW, 0, 10) if r.reference == ref] == ["bounced"]
    assert len(outbound(desk)) == 1 and count(desk, select(func.count(Ticket.id))) == 1
    from widgets.ticket_columns import MAIL_MARK

    assert "bounced" in MAIL_MARK["bounced"]


def test_a_delay_report_joins_its_ticket_and_marks_nothing(desk, tmp_path):
    """A report that is not a failure ("Action: delayed") is kept on the
    ticket with its action; the message is not marked bounced."""
    ref, question = _refund_question_sent(desk, tmp_path)
    delayed = DSN.replace("Action: failed", "Action: delayed").replace("Status: 5.1.1", "Status: 4.4.7")
    item = ingest(
        desk,
        tmp_path,
        delayed.format(ref=ref, mid=question.message_id).encode(),
        "dsn.eml",
        now=NOW + timedelta(minutes=10),
    )
    assert item.result == "linked" and item.ticket == ref
    with desk.reader() as s:
        assert s.get(Message, question.id).bounced_at is None
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert t.mail_flag != "bounced"
        reports = [history.detail_of(e) for e in history.events(s, t.id) if e.action == "delivery_report"]
        assert [d["report_action"] for d in reports] == ["delayed"]


def test_a_bounce_about_no_message_of_ours_is_held(desk, tmp_path):
    item = ingest(desk, tmp_path, DSN.format(ref="RFD-2026-999999", mid="<nobody@x>").encode(), "dsn.eml")
    assert item.result == "quarantined" and "delivery report" in item.reason


def test_automatic_mails_to_one_address_are_capped_a_day(desk, tmp_path):
    config = replace(CONFIG, mail=MailConfig(auto_replies_per_day=3))
    for i in range(5):
        item = ingest(
            desk,
            tmp_path,
            eml("Refund Request", f"Refund please, attempt {i}.", msgid=f"<cap{i}@example.com>"),
            f"c{i}.eml",
            now=NOW + timedelta(minutes=i),
            config=config,
        )
        assert item.result == "created"
    assert len(outbound(desk)) == 3
    with desk.reader() as s:
        from models import TicketEvent

        assert (
            s.execute(select(func.count(TicketEvent.id)).where(TicketEvent.action == "auto_reply_held")).scalar_one()
            == 2
        )
    # a day later the address gets automatic mail again
    ingest(
        desk,
        tmp_path,
        eml("Refund Request", "Refund please, once more.", msgid="<cap9@example.com>"),
        "c9.eml",
        now=NOW + timedelta(hours=25),
        config=config,
    )
    assert len(outbound(desk)) == 4


def _customer_complaint(desk, tmp_path, sender="Cust@Example.com") -> str:
    return ingest(
        desk, tmp_path, eml("Complaint about activation", sender=sender, msgid="<c0@example.com>"), "c0.eml"
    ).ticket


def _messages_of(desk, ref) -> int:
    return count(
        desk, select(func.count(Message.id)).join(Ticket, Ticket.id == Message.ticket_id).where(Ticket.reference == ref)
    )


def test_the_customer_replies_from_the_same_address_in_any_case(desk, tmp_path):
    ref = _customer_complaint(desk, tmp_path)
    item = ingest(
        desk,
        tmp_path,
        eml(f"Re: [{ref}] Complaint", "More details.", sender="cust@EXAMPLE.com", msgid="<c1@x>"),
        "c1.eml",
    )
    assert item.result == "linked" and item.ticket == ref


def test_a_stranger_quoting_a_reference_adds_nothing_to_that_ticket(desk, tmp_path):
    ref = _customer_complaint(desk, tmp_path)
    before = _messages_of(desk, ref)
    secret = "Please change the phone number on this case to +1 555 0100."
    item = ingest(
        desk,
        tmp_path,
        eml(f"Re: [{ref}] About my case", secret, sender="mallory@evil.example", msgid="<m1@x>"),
        "m1.eml",
    )
    assert item.result == "created" and item.ticket.startswith("INQ-") and item.ticket != ref
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        msgs = list(s.scalars(select(Message).where(Message.ticket_id == t.id)))
        notes = [m for m in msgs if m.kind == "note"]
        assert len(msgs) == before + 1 and len(notes) == 1
        assert item.ticket in notes[0].body and "+1 555" not in notes[0].body and "mallory" not in notes[0].body
        assert all(secret not in m.body for m in msgs)
    # an escalation request from a stranger escalates nothing either
    item = ingest(
        desk,
        tmp_path,
        eml(f"Escalation: {ref}", "Escalate it.", sender="mallory@evil.example", msgid="<m2@x>"),
        "m2.eml",
    )
    assert item.result == "created" and item.ticket.startswith("INQ-")
    assert count(desk, select(func.count(Ticket.id)).where(Ticket.kind == "escalation")) == 0


def test_a_stranger_can_be_held_in_quarantine_instead(desk, tmp_path):
    ref = _customer_complaint(desk, tmp_path)
    config = replace(CONFIG, mail=MailConfig(stranger="quarantine"))
    item = ingest(
        desk,
        tmp_path,
        eml(f"Re: [{ref}] Complaint", "hi", sender="mallory@evil.example", msgid="<m1@x>"),
        "m1.eml",
        config=config,
    )
    assert item.result == "quarantined" and item.reason == f"sender does not match {ref}"
    assert count(desk, select(func.count(Quarantine.id))) == 1 and count(desk, select(func.count(Ticket.id))) == 1


def _closed_complaint(desk) -> str:
    agent = wf_staff(desk, "alice")
    ref = new_complaint(desk)  # maria@example.com
    walk(desk, ref, agent, "closed")  # closed a little after T0
    return ref


def test_a_reply_to_a_recently_closed_ticket_reopens_it(desk, tmp_path):
    ref = _closed_complaint(desk)
    reply = eml(f"Re: [{ref}] Our findings", "It still does not work.", sender="maria@example.com", msgid="<r@x>")
    item = ingest(desk, tmp_path, reply, "r.eml", now=T0 + timedelta(days=5), config=WF_CONFIG)
    assert item.result == "linked" and item.ticket == ref
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert t.status == "resolution_communicated" and t.closed_at is None and t.mail_flag == "reopened"
        assert "reopened" in [e.action for e in history.events(s, t.id)]
        assert [r.mail_flag for r in queue_page(s, QueueQuery(), NOW, 0, 10) if r.reference == ref] == ["reopened"]
    with desk.session() as s:  # a person works on it: the marker has been seen
        add_note(
            s,
            Actor.of(s.scalars(select(Staff).where(Staff.login == "alice")).one()),
            ref,
            "Called her.",
            now=T0 + timedelta(days=5),
        )
    with desk.reader() as s:
        assert s.scalars(select(Ticket.mail_flag).where(Ticket.reference == ref)).one() is None


def test_a_reply_to_a_long_closed_ticket_opens_a_linked_one(desk, tmp_path):
    ref = _closed_complaint(desk)
    reply = eml(f"Re: [{ref}] Our findings", "It broke again.", sender="maria@example.com", msgid="<r@x>")
    item = ingest(desk, tmp_path, reply, "r.eml", now=T0 + timedelta(days=40), config=WF_CONFIG)
    assert item.result == "created" and item.ticket.startswith("INQ-")
    with desk.reader() as s:
        old = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        new = s.scalars(select(Ticket).where(Ticket.reference == item.ticket)).one()
        assert (
            old.status == "closed"
            and new.previous_id == old.id
            and new.mail_flag == "follow_up"
            and new.status == "submitted"
        )
        assert "followed_up" in [e.action for e in history.events(s, old.id)]


def test_reopen_days_zero_always_links(desk, tmp_path):
    ref = _closed_complaint(desk)
    config = replace(WF_CONFIG, mail=MailConfig(reopen_days=0))
    reply = eml(f"Re: [{ref}] Our findings", "Still broken.", sender="maria@example.com", msgid="<r@x>")
    assert ingest(desk, tmp_path, reply, "r.eml", now=T0 + timedelta(days=1), config=config).result == "created"


def test_an_oversized_message_is_quarantined_and_released_with_its_body_as_an_attachment(desk, tmp_path):
    config = replace(CONFIG, mail=MailConfig(max_message_bytes=4096))
    big = eml("Complaint about activation", "x" * 10_000, msgid="<big@example.com>")
    item = ingest(desk, tmp_path, big, "big.eml", config=config)
    assert item.result == "quarantined" and item.reason.startswith("oversized") and "4096" in item.reason
    assert (
        ingest(
            desk, tmp_path, eml("Complaint about activation", "short", msgid="<small@x>"), "s.eml", config=config
        ).result
        == "created"
    )
    add_staff(desk, "quinn", "supervisor")
    with desk.session() as s:
        actor = Actor.of(s.scalars(select(Staff).where(Staff.login == "quinn")).one())
        qid = s.scalars(select(Quarantine.id)).one()
        ref = release(s, actor, qid, kind="complaint", now=NOW, config=config)
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        msg = s.scalars(select(Message).where(Message.ticket_id == t.id, Message.kind == "inbound")).one()
        att = s.scalars(select(Attachment).where(Attachment.message_id == msg.id)).one()
        assert msg.subject == "Complaint about activation" and len(msg.body) < 200 and "message.eml" in msg.body
        assert att.filename == "message.eml" and att.data == big


def test_what_a_new_complaint_still_needs_is_in_words_on_its_history(desk, tmp_path):
    """The creation event lists the missing fields as words ("incident date,
    phone"), never their stored names ("incident_date,phone")."""
    from app.workflow import timeline

    item = ingest(desk, tmp_path, eml("Complaint: no data", "It stopped working, nothing loads at all here."), "c.eml")
    with desk.reader() as s:
        t = s.exec(select(Ticket).where(Ticket.reference == item.ticket)).scalars().one()
        created = next(i.text for i in timeline(s, t.id) if i.kind == "event")
    assert "information needed: incident date, phone" in created, created
    assert "_" not in created
