"""Complaint intake: every missing or malformed field named; references; clocks."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app import history, tickets
from app.business_calendar import desk_calendar
from app.errors import AccessDenied, InputError
from app.workflow import acknowledge, create_complaint, validate_complaint
from models import Message
from workflow_helpers import CONFIG, T0, VALID, at, new_complaint, team

CAL = desk_calendar(CONFIG)
TLL = ZoneInfo("Europe/Tallinn")


def test_valid_complaint_has_no_problems():
    assert validate_complaint(**VALID, received_at=T0) == []


def test_every_missing_field_is_named():
    problems = validate_complaint(received_at=T0)
    assert [p.field for p in problems] == ["incident_date", "description", "name", "email", "phone"]
    assert all("missing" in p.message for p in problems)


@pytest.mark.parametrize(
    "field,value,words",
    [
        ("email", "maria.example.com", "malformed"),
        ("email", "maria@", "malformed"),
        ("phone", "call me", "malformed"),
        ("phone", "12345", "malformed"),
        ("incident_date", "sometime", "not a date"),
        ("incident_date", "2027-01-01", "future"),
        ("description", "broken", "too short"),
        ("name", "maria@example.com", "name"),
        ("region", "atlantis", "unknown region"),
    ],
)
def test_malformed_fields(field, value, words):
    problems = validate_complaint(**{**VALID, field: value}, received_at=T0)
    assert [p.field for p in problems] == [field]
    assert words in problems[0].message


@pytest.mark.parametrize("value", ["2026-03-06", "6 March 2026", "06/03/2026", "March 6, 2026"])
def test_written_dates_accepted(value):
    assert validate_complaint(**{**VALID, "incident_date": value}, received_at=T0) == []


def test_console_refuses_with_every_problem_in_one_line(desk):
    staff = team(desk)
    with desk.session() as s, pytest.raises(InputError) as exc:
        create_complaint(
            s,
            received_at=T0,
            source="console",
            actor=staff["alice"],
            config=CONFIG,
            description="short",
            email="bad",
            name=None,
        )
    text = str(exc.value)
    for words in (
        "date of contact or incident is missing",
        "too short",
        "full name is missing",
        "email address 'bad' is malformed",
        "phone number is missing",
    ):
        assert words in text
    assert "\n" not in text


def test_console_needs_a_staff_member_who_works_tickets(desk):
    staff = team(desk)
    with desk.session() as s, pytest.raises(AccessDenied):
        create_complaint(s, received_at=T0, source="console", actor=staff["adam"], config=CONFIG, **VALID)


def test_email_with_missing_contacts_is_logged_and_ack_asks_for_them(desk):
    staff = team(desk)
    mail = Message(
        kind="inbound",
        from_addr="lee@example.com",
        from_name=None,
        subject="Complaint Regarding eSIM Service",
        body="...",
        message_id="<m1@example.com>",
        created_at=T0,
    )
    with desk.session() as s:
        t = create_complaint(
            s,
            received_at=T0,
            source="email",
            message=mail,
            config=CONFIG,
            description=VALID["description"],
            incident_date=None,
        )
        ref = t.reference
        assert t.info_needed == "incident_date,name,phone"
    with desk.session() as s:
        acknowledge(s, staff["alice"], ref, now=at(60), config=CONFIG)
    with desk.reader() as s:
        t = tickets.get(s, ref)
        ack = s.scalars(select(Message).where(Message.ticket_id == t.id, Message.template == "acknowledgment")).one()
        assert ack.to_addr == "lee@example.com" and ack.in_reply_to == "<m1@example.com>"
        for ask in ("the date of contact or incident", "your full name", "a phone number"):
            assert ask in ack.body
        assert ref in ack.subject and ref in ack.body
        assert "Dear customer" in ack.body


def test_references_are_unique_and_sequential(desk):
    refs = [new_complaint(desk) for _ in range(3)]
    assert refs == ["CMP-2026-000001", "CMP-2026-000002", "CMP-2026-000003"]


def test_ack_clock_from_receipt_and_resolution_clock_from_acknowledgment(desk):
    staff = team(desk)
    fri = datetime(2026, 12, 18, 15, tzinfo=TLL)  # the contract's worked example
    ref = new_complaint(desk, received_at=fri)
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert t.ack_due_at.astimezone(TLL).date().isoformat() == "2026-12-22"
        assert (t.due_at, t.due_clock) == (t.ack_due_at, "acknowledgment")
    ack_at = datetime(2026, 12, 21, 9, tzinfo=TLL)
    with desk.session() as s:
        acknowledge(s, staff["alice"], ref, now=ack_at, config=CONFIG)
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert t.acknowledged_at == ack_at
        assert t.resolution_due_at == CAL.due_at(ack_at, 10)
        assert (t.due_at, t.due_clock) == (t.resolution_due_at, "resolution")
        assert t.assignee_id == staff["alice"].id
        ack = s.scalars(select(Message).where(Message.ticket_id == t.id, Message.template == "acknowledgment")).one()
        d = CAL.local_date(t.resolution_due_at)
        assert f"{d.day} {d.strftime('%B %Y')}" in ack.body
        assert [e.action for e in history.events(s, t.id)] == ["created", "assign", "acknowledged"]


def test_acknowledging_twice_is_refused(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.session() as s:
        acknowledge(s, staff["alice"], ref, now=at(5), config=CONFIG)
    from app.errors import IllegalTransition

    with desk.session() as s, pytest.raises(IllegalTransition):
        acknowledge(s, staff["bob"], ref, now=at(6), config=CONFIG)


def test_naive_times_refused(desk):
    with desk.session() as s, pytest.raises(InputError, match="timezone-aware"):
        create_complaint(s, received_at=datetime(2026, 3, 9, 10), config=CONFIG, **VALID)


def test_a_known_customer_gets_blanks_filled_never_overwritten(desk):
    """Matched case-insensitively by email; an empty name or phone takes the
    new value, a stored one is kept (customer_id_for, the intake path)."""
    from app.workflow.intake import customer_id_for
    from models import Customer

    with desk.session() as s:
        c = Customer(email="Ann.Tamm@Example.com", name="", phone=None, created_at=T0)
        s.add(c)
        s.flush()
        cid = c.id
    with desk.session() as s:
        assert (
            customer_id_for(s, email=" ann.tamm@example.COM ", name="Ann Tamm", phone="+372 5555 1234", now=T0) == cid
        )
    with desk.session() as s:
        assert (
            customer_id_for(s, email="ann.tamm@example.com", name="Someone Else", phone="+1 555 000 0000", now=T0)
            == cid
        )
        other = customer_id_for(s, email="new@example.com", name=None, phone=None, now=T0)
        named = Customer(email="kai@example.com", name="Kai Tamm", phone=None, created_at=T0)
        s.add(named)
        s.flush()
        # the phone is blank, so this mail fills it: the stored name stays
        assert customer_id_for(s, email="KAI@example.com", name="Somebody", phone="+372 5555 0000", now=T0) == named.id
        named_id = named.id
    with desk.reader() as s:
        c = s.get(Customer, cid)
        assert (c.name, c.phone, c.email) == ("Ann Tamm", "+372 5555 1234", "Ann.Tamm@Example.com")
        assert other != cid and s.get(Customer, other).name is None
        assert (s.get(Customer, named_id).name, s.get(Customer, named_id).phone) == ("Kai Tamm", "+372 5555 0000")
