"""Notes vs replies, the outbox, the customer's replies, waiting, timeline,
next actions, templates and regional guidance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import history, tickets
from app.business_calendar import desk_calendar
from app.errors import AccessDenied, IllegalTransition, InputError
from app.sla_clocks import clock_due
from app.workflow import add_note, customer_replied, next_actions, regions, reply, timeline, waiting
from app.workflow import templates as tpl
from models import Customer, Message, Ticket
from models.enums import Clock, OutOfScope, Region
from workflow_helpers import CONFIG, T0, at, new_complaint, team, walk

CAL = desk_calendar(CONFIG)


def test_note_is_internal_and_reply_is_queued(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.session() as s:
        add_note(s, staff["alice"], ref, "Customer sounds upset; check guide v3.", now=at(1))
        reply(s, staff["alice"], ref, "Could you tell us your phone model?", now=at(2), config=CONFIG)
    with desk.reader() as s:
        t = tickets.get(s, ref)
        note, out = s.scalars(select(Message).where(Message.ticket_id == t.id).order_by(Message.id)).all()
        assert (note.kind, note.delivery, note.to_addr) == ("note", None, None)
        assert (out.kind, out.delivery, out.to_addr, out.author) == ("outbound", "queued", "maria@example.com", "alice")
        assert out.subject.startswith(f"[{ref}]")
        assert [e.action for e in history.events(s, t.id)][-2:] == ["note", "reply"]


def test_empty_texts_refused_and_admin_cannot_write(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.session() as s:
        with pytest.raises(InputError):
            add_note(s, staff["alice"], ref, "   ", now=at(1))
        with pytest.raises(AccessDenied):
            add_note(s, staff["adam"], ref, "hello", now=at(1))


def test_reply_without_customer_email_is_refused(desk):
    staff = team(desk)
    with desk.session() as s:
        c = Customer(email="", created_at=T0)
        s.add(c)
        s.flush()
        s.add(
            Ticket(
                reference="INQ-2026-000009",
                kind="inquiry",
                customer_id=c.id,
                received_at=T0,
                created_at=T0,
                updated_at=T0,
            )
        )
    with desk.session() as s, pytest.raises(InputError, match="no email address"):
        reply(s, staff["alice"], "INQ-2026-000009", "hi", now=at(1), config=CONFIG)


def test_timeline_merges_events_and_messages_in_order_and_is_inert(desk):
    staff = team(desk)
    mail = Message(
        kind="inbound",
        from_addr="maria@example.com",
        from_name="Maria\x1b[31m Tamm",
        subject="Complaint",
        body="It broke \x1b]8;;http://evil\x07click\x1b]8;;\x07 [bold]x[/bold]",
        created_at=T0,
    )
    with desk.session() as s:
        from app.workflow import create_complaint
        from workflow_helpers import VALID

        ref = create_complaint(s, received_at=T0, message=mail, config=CONFIG, **VALID).reference
    walk(desk, ref, staff["alice"], "acknowledged")
    with desk.session() as s:
        add_note(s, staff["bob"], ref, "internal", now=at(20))
    with desk.reader() as s:
        items = timeline(s, tickets.get(s, ref).id)
    kinds = [(i.kind, i.action) for i in items]
    assert kinds == [
        ("event", "created"),
        ("inbound", None),
        ("event", "assign"),
        ("event", "acknowledged"),
        ("outbound", None),
        ("event", "note"),
        ("note", None),
    ]
    inbound = items[1]
    assert "\x1b" not in inbound.text and "\x1b" not in inbound.actor and "[bold]" in inbound.text  # kept as plain text
    assert [i.at for i in items] == sorted(i.at for i in items)


def refund_ticket(desk) -> str:
    with desk.session() as s:
        c = Customer(email="r@example.com", name="Rita", created_at=T0)
        s.add(c)
        s.flush()
        due = clock_due(CAL, Clock.REFUND_REVIEW, T0)
        s.add(
            Ticket(
                reference="RFD-2026-000001",
                kind="refund",
                customer_id=c.id,
                received_at=T0,
                review_due_at=due,
                due_at=due,
                due_clock="refund_review",
                created_at=T0,
                updated_at=T0,
            )
        )
    return "RFD-2026-000001"


def test_pause_and_customer_reply_resume_move_the_deadline(desk):
    staff = team(desk)
    ref = refund_ticket(desk)
    with desk.session() as s:
        t = tickets.lock(s, ref)
        old_due = t.review_due_at
        waiting.pause(s, t, staff["alice"], at(60), "need the order screenshot")  # Monday
        with pytest.raises(IllegalTransition):
            waiting.pause(s, t, staff["alice"], at(61), "again")
        tickets.touch(t, "alice", at(60))
    thursday = datetime(2026, 3, 12, 9, tzinfo=UTC)
    with desk.session() as s:
        customer_replied(
            s,
            ref,
            message=Message(from_addr="r@example.com", body="here", created_at=thursday),
            now=thursday,
            config=CONFIG,
        )
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert t.paused_since is None
        assert t.review_due_at == CAL.end_of_local_day(CAL.add_business_days(old_due, 3))  # Tue, Wed, Thu waited
        assert t.due_at == t.review_due_at
        acts = [e.action for e in history.events(s, t.id)]
        assert acts == ["pause", "reply", "resume"]


def test_customer_reply_to_a_running_complaint_just_records_it(desk):
    ref = new_complaint(desk)
    with desk.session() as s:
        customer_replied(
            s, ref, message=Message(from_addr="maria@example.com", body="more info"), now=at(5), config=CONFIG
        )
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert [e.action for e in history.events(s, t.id)] == ["created", "reply"]
        assert t.version == 2


def test_next_actions_follow_state_and_role(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert next_actions(t, staff["alice"]) == ["acknowledge", "note", "reply", "close", "triage", "assign"]
        assert "triage" not in next_actions(t, staff["sam"])
        assert next_actions(t, staff["adam"]) == []
    m = walk(desk, ref, staff["alice"], "resolution_communicated")
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert next_actions(t, staff["alice"]) == ["note", "reply", "escalate", "close"]  # hers: no self-assign
        assert "assign" in next_actions(t, staff["olivia"])
    walk(desk, ref, staff["alice"], "escalated", start=m)
    with desk.reader() as s:
        esc = s.scalars(select(Ticket).where(Ticket.kind == "escalation")).one()
        assert next_actions(esc, staff["sam"], s) == ["note", "take_review"]
        assert "take_review" not in next_actions(esc, staff["alice"], s)
        assert "assign" in next_actions(esc, staff["olivia"], s)


def test_all_templates_render_with_reference_in_subject():
    values = dict(
        reference="CMP-2026-000001",
        customer_name="Maria",
        desk_address="c@x",
        resolution_due="Monday",
        missing_info="",
        request="a photo",
        reason="r",
        new_due="d",
        old_due="o",
        resolution="res",
        complaint_reference="CMP-2026-000001",
        final_response_due="f",
        response="resp",
        reviewer_name="Sam",
        escalation_reference="ESC-2026-000001",
        stage="investigation",
    )
    mine = [
        "acknowledgment",
        "information_request",
        "progress_update",
        "proposed_resolution",
        "escalation_acknowledgment",
        "final_response",
        "second_escalation",
        "escalation_not_possible",
        *[f"out_of_scope_{c.value}" for c in OutOfScope],
    ]
    assert set(mine) <= set(tpl.names())
    for name in mine:
        r = tpl.render(name, **values)
        assert "CMP-2026-000001" in r.subject and "$" not in r.body and "$" not in r.subject
    with pytest.raises(InputError, match="needs a value"):
        tpl.render("acknowledgment", reference="X")


def test_customer_date_is_the_local_day():
    assert tpl.customer_date(CAL, datetime(2026, 12, 22, 21, 59, 59, tzinfo=UTC)) == "Tuesday 22 December 2026"


@pytest.mark.parametrize("region", list(Region))
def test_every_region_has_the_policys_guidance(region):
    text = regions.guidance(region)
    assert regions.label(region) in text and len(text) > 120


def test_region_parsing():
    assert regions.parse("Australia & New Zealand") is Region.AUSTRALIA_NZ
    assert regions.parse("Europe") is Region.EUROPE
    assert regions.parse("") is None
    assert "Outback" in regions.guidance("australia_nz")
    with pytest.raises(InputError, match="unknown region"):
        regions.parse("Antarctica")


@pytest.mark.parametrize(
    "state, offered",
    [("acknowledged", True), ("information_gathering", True), ("investigation", False), ("resolution_proposed", False)],
)
def test_investigation_is_offered_where_the_workflow_allows_it(desk, state, offered):
    """Step 4 (into investigation) is one of the next actions, so every front end offers it."""
    staff = team(desk)
    ref = new_complaint(desk)
    walk(desk, ref, staff["alice"], state)
    with desk.reader() as s:
        assert ("investigate" in next_actions(tickets.get(s, ref), staff["alice"])) is offered
