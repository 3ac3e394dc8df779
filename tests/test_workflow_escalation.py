"""Escalation: one level only, impartial senior review, final response, full history."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from app import history, tickets
from app.business_calendar import desk_calendar
from app.errors import AccessDenied, IllegalTransition
from app.export import iter_tickets
from app.workflow import (
    add_note,
    assign,
    assign_reviewer,
    create_escalation,
    eligible_reviewers,
    final_response,
    move,
    take_review,
)
from models import Attachment, Message, Ticket
from workflow_helpers import CONFIG, at, new_complaint, take, team, walk

CAL = desk_calendar(CONFIG)


def escalated(desk, staff, **kw):
    ref = new_complaint(desk, **kw)
    m = walk(desk, ref, staff["alice"], "resolution_communicated")
    with desk.session() as s:
        out = create_escalation(
            s,
            ref,
            received_at=at(m),
            reason="The proposed refund ignores my lost travel day.",
            documents=[("receipt.pdf", "application/pdf", b"%PDF-1.4 ...")],
            config=CONFIG,
        )
        return ref, out.escalation.reference, m + 10


def actions(desk, ref):
    with desk.reader() as s:
        return [e.action for e in history.events(s, tickets.get(s, ref).id)]


def test_escalation_opens_ticket_with_five_business_day_clock(desk):
    staff = team(desk)
    ref, esc_ref, _m = escalated(desk, staff)
    with desk.reader() as s:
        esc, cmp_ = tickets.get(s, esc_ref), tickets.get(s, ref)
        assert esc.kind == "escalation" and esc.escalation_of_id == cmp_.id
        assert esc.final_response_due_at == CAL.due_at(esc.received_at, 5)
        assert (esc.due_at, esc.due_clock) == (esc.final_response_due_at, "final_response")
        assert esc.description.startswith("The proposed refund")
        assert cmp_.status == "escalated" and cmp_.due_at is None
        ack = s.scalars(select(Message).where(Message.ticket_id == esc.id, Message.kind == "outbound")).one()
        assert ack.template == "escalation_acknowledgment" and ack.delivery == "queued"
        assert esc_ref in ack.subject and ref in ack.body
        inbound = s.scalars(select(Message).where(Message.ticket_id == esc.id, Message.kind == "inbound")).one()
        att = s.scalars(select(Attachment).where(Attachment.message_id == inbound.id)).one()
        assert (att.filename, att.size) == ("receipt.pdf", len(b"%PDF-1.4 ..."))


def test_second_escalation_is_kept_as_correspondence(desk):
    staff = team(desk)
    ref, esc_ref, m = escalated(desk, staff)
    mail = Message(
        kind="inbound",
        from_addr="maria@example.com",
        subject=f"Escalation: {ref}",
        body="Escalate again!",
        message_id="<again@example.com>",
        created_at=at(m),
    )
    with desk.session() as s:
        out = create_escalation(s, ref, received_at=at(m), reason=None, message=mail, config=CONFIG)
        assert out.linked_as_correspondence and not out.created
        assert out.escalation.reference == esc_ref
        assert "final internal review stage" in out.reason
    with desk.reader() as s:
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.kind == "escalation")) == 1
        cmp_ = tickets.get(s, ref)
        refused = [e for e in history.events(s, cmp_.id) if e.action == "refused"]
        assert len(refused) == 1 and "final internal review stage" in history.detail_of(refused[0])["reason"]
        kept = s.scalars(select(Message).where(Message.message_id == "<again@example.com>")).one()
        assert kept.ticket_id == cmp_.id
        reply = s.scalars(
            select(Message).where(Message.ticket_id == cmp_.id, Message.template == "second_escalation")
        ).one()
        assert ref in reply.subject and esc_ref in reply.body


def test_escalation_before_a_communicated_resolution_is_correspondence(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "investigation")
    with desk.session() as s:
        out = create_escalation(s, ref, received_at=at(m), reason="Too slow", config=CONFIG)
    assert out.linked_as_correspondence and out.escalation is None
    with desk.reader() as s:
        assert tickets.get(s, ref).status == "investigation"
    assert actions(desk, ref)[-1] == "refused"


def test_senior_with_one_note_on_the_complaint_is_refused_and_it_is_logged(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "investigation")
    with desk.session() as s:
        add_note(s, staff["sam"], ref, "Checked the Japan guide: step 4 is outdated.", now=at(m))
    m = walk(desk, ref, staff["alice"], "resolution_communicated", start=m + 10)  # continues from investigation
    with desk.session() as s:
        esc_ref = create_escalation(
            s, ref, received_at=at(m), reason="Not satisfied", config=CONFIG
        ).escalation.reference
    with pytest.raises(AccessDenied, match="sam acted on"):
        take(desk, esc_ref, staff["sam"], m + 10)
    # the supervisor cannot route it to sam either
    with desk.session() as s, pytest.raises(AccessDenied, match="sam acted on"):
        assign_reviewer(s, staff["olivia"], esc_ref, "sam", now=at(m + 20))
    with desk.reader() as s:
        esc = tickets.get(s, esc_ref)
        refused = [e for e in history.events(s, esc.id) if e.action == "refused"]
        assert [(e.actor, history.detail_of(e)["attempt"]) for e in refused] == [
            ("sam", "take_review"),
            ("olivia", "assign_reviewer"),
        ]
        assert esc.reviewer_id is None and esc.status == "submitted"
        assert [x.login for x in eligible_reviewers(s, esc)] == ["sara"]
    t = take(desk, esc_ref, staff["sara"], m + 30)
    assert t.status == "in_review"


def test_senior_once_assigned_to_the_complaint_is_not_impartial(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.session() as s:
        assign(s, staff["olivia"], ref, "sara", now=at(1))  # sara never acts herself
    with desk.session() as s:
        assign(s, staff["olivia"], ref, "alice", now=at(2))
    m = walk(desk, ref, staff["alice"], "escalated", start=5)
    with desk.reader() as s:
        esc_ref = s.scalars(select(Ticket.reference).where(Ticket.kind == "escalation")).one()
    with pytest.raises(AccessDenied, match="was assigned to"):
        take(desk, esc_ref, staff["sara"], m)


def test_roles_agent_and_supervisor_cannot_review(desk):
    staff = team(desk)
    _ref, esc_ref, m = escalated(desk, staff)
    with pytest.raises(AccessDenied, match="seniors only"):
        take(desk, esc_ref, staff["bob"], m)
    with pytest.raises(AccessDenied):
        take(desk, esc_ref, staff["olivia"], m + 1)
    with desk.session() as s, pytest.raises(AccessDenied, match="supervisors only"):
        assign_reviewer(s, staff["sam"], esc_ref, "sara", now=at(m + 2))
    with desk.session() as s, pytest.raises(AccessDenied, match="not a senior"):
        assign_reviewer(s, staff["olivia"], esc_ref, "bob", now=at(m + 3))
    assert actions(desk, esc_ref).count("refused") == 4


def test_supervisor_reassigns_only_to_another_eligible_senior(desk):
    staff = team(desk)
    _ref, esc_ref, m = escalated(desk, staff)
    take(desk, esc_ref, staff["sam"], m)
    with desk.session() as s:
        t = assign_reviewer(s, staff["olivia"], esc_ref, "sara", now=at(m + 10))
        assert t.reviewer_id == staff["sara"].id
    with desk.session() as s, pytest.raises(IllegalTransition, match="already reviewed by sara"):
        take_review(s, staff["sam"], esc_ref, now=at(m + 20))
    # the generic assign goes through the same rule
    with desk.session() as s, pytest.raises(AccessDenied):
        assign(s, staff["olivia"], esc_ref, "alice", now=at(m + 30))


def test_reviewer_cannot_write_on_the_complaint(desk):
    staff = team(desk)
    ref, esc_ref, m = escalated(desk, staff)
    take(desk, esc_ref, staff["sam"], m)
    with desk.session() as s, pytest.raises(AccessDenied, match="write on the escalation"):
        add_note(s, staff["sam"], ref, "peeking", now=at(m + 5))


def test_final_response_closes_both_and_reviewer_is_never_a_complaint_handler(desk):
    staff = team(desk)
    ref, esc_ref, m = escalated(desk, staff)
    take(desk, esc_ref, staff["sam"], m)
    with desk.session() as s, pytest.raises(AccessDenied, match="only the reviewer"):
        final_response(s, staff["sara"], esc_ref, "No.", now=at(m + 5), config=CONFIG)
    with desk.session() as s:
        final_response(s, staff["sam"], esc_ref, "We add a full refund of the plan.", now=at(m + 10), config=CONFIG)
    with desk.reader() as s:
        esc, cmp_ = tickets.get(s, esc_ref), tickets.get(s, ref)
        assert (esc.status, esc.close_reason, esc.final_response_at) == ("closed", "final_response", at(m + 10))
        assert (cmp_.status, cmp_.close_reason) == ("closed", "final_response")
        assert "sam" not in history.handlers(s, cmp_.id)
        msg = s.scalars(select(Message).where(Message.ticket_id == esc.id, Message.template == "final_response")).one()
        assert "full refund" in msg.body and esc_ref in msg.subject
        rows = {r["reference"]: r for r in iter_tickets(s, now=at(m + 20))}
        assert rows[esc_ref]["reviewer"] == "sam" and "sam" not in rows[ref]["handlers"]
        assert rows[esc_ref]["escalation_of"] == ref
    with desk.session() as s, pytest.raises(IllegalTransition):
        final_response(s, staff["sam"], esc_ref, "again", now=at(m + 30), config=CONFIG)


def test_history_complete_for_all_nine_steps_in_order(desk):
    staff = team(desk)
    ref, esc_ref, m = escalated(desk, staff)
    take(desk, esc_ref, staff["sam"], m)
    with desk.session() as s:
        final_response(s, staff["sam"], esc_ref, "Final answer.", now=at(m + 10), config=CONFIG)
    with desk.reader() as s:
        c_events = [(e.action, e.to_status, e.at, e.actor) for e in history.events(s, tickets.get(s, ref).id)]
        e_events = [e.action for e in history.events(s, tickets.get(s, esc_ref).id)]
    steps = [
        (a, to) for a, to, _at, _who in c_events if a in ("created", "acknowledged", "status", "escalated", "closed")
    ]
    assert steps == [
        ("created", "submitted"),  # 1 submission
        ("acknowledged", "acknowledged"),  # 2 acknowledgment
        ("status", "information_gathering"),  # 3
        ("status", "investigation"),  # 4
        ("status", "resolution_proposed"),  # 5
        ("status", "resolution_communicated"),  # 6
        ("escalated", "escalated"),  # 7/8 not accepted -> escalation
        ("closed", "closed"),  # 9 closed by the final response
    ]
    assert e_events == ["created", "acknowledged", "review_taken", "final_response"]
    times = [e[2] for e in c_events]
    assert times == sorted(times)
    assert all(who == "alice" for a, _to, _at, who in c_events if a in ("acknowledged", "status"))


def test_escalated_complaint_export_has_handlers_and_no_reviewer_overlap(desk):
    staff = team(desk)
    ref, esc_ref, m = escalated(desk, staff)
    take(desk, esc_ref, staff["sara"], m)
    with desk.reader() as s:
        rows = {r["reference"]: r for r in iter_tickets(s, now=at(m + 1))}
    assert rows[ref]["handlers"] == ["alice"]
    assert rows[esc_ref]["reviewer"] not in rows[ref]["handlers"]
    assert rows[ref]["acknowledged_at"] is not None and rows[ref]["resolution_due_at"] is not None
    assert isinstance(datetime.fromisoformat(rows[esc_ref]["final_response_due_at"]), datetime)


def test_cannot_escalate_escalation_or_move_it_backwards(desk):
    staff = team(desk)
    _ref, esc_ref, m = escalated(desk, staff)
    with desk.session() as s, pytest.raises(IllegalTransition):
        create_escalation(s, esc_ref, received_at=at(m), reason="x", config=CONFIG)
    take(desk, esc_ref, staff["sam"], m + 1)
    with desk.session() as s, pytest.raises(IllegalTransition):
        move(s, staff["sam"], esc_ref, "submitted", now=at(m + 2), config=CONFIG)
