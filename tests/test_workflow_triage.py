"""Out-of-scope triage (no clock, courteous redirect) and reopening as a complaint."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import history, tickets
from app.business_calendar import desk_calendar
from app.errors import AccessDenied, IllegalTransition, InputError
from app.workflow import create_inquiry, reopen_as_complaint, triage
from app.workflow.triage import REDIRECT_TO
from models import Message
from models.enums import OutOfScope
from workflow_helpers import CONFIG, T0, at, new_complaint, team, walk

CAL = desk_calendar(CONFIG)
WHERE = {
    "third_party_plan": "provider",
    "hardware": "manufacturer",
    "provider_refund": "provider you bought the plan from",
    "general_inquiry": "standard support channel",
    "misinformation": "source of that information",
}


def inquiry(desk, **kw) -> str:
    with desk.session() as s:
        return create_inquiry(
            s,
            received_at=T0,
            email="ken@example.com",
            name="Ken Adams",
            subject="My phone",
            description="My phone screen flickers since the update.",
            config=CONFIG,
            **kw,
        ).reference


@pytest.mark.parametrize("category", [c.value for c in OutOfScope])
def test_out_of_scope_closes_without_clock_and_redirects(desk, category):
    staff = team(desk)
    ref = inquiry(desk)
    with desk.session() as s:
        t = triage(s, staff["alice"], ref, category, now=at(30), config=CONFIG)
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert (t.kind, t.status, t.close_reason, t.out_of_scope) == ("inquiry", "closed", "out_of_scope", category)
        assert t.ack_due_at is None and t.resolution_due_at is None and t.due_at is None and t.due_clock is None
        msg = s.scalars(select(Message).where(Message.ticket_id == t.id, Message.kind == "outbound")).one()
        assert msg.template == f"out_of_scope_{category}" and msg.delivery == "queued"
        assert ref in msg.subject and WHERE[category] in msg.body and "Dear Ken Adams" in msg.body
        ev = [e for e in history.events(s, t.id) if e.action == "triaged"][0]
        assert history.detail_of(ev)["redirect_to"] == REDIRECT_TO[OutOfScope(category)]


def test_submitted_complaint_triaged_loses_its_clock_but_history_keeps_it(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.session() as s:
        triage(s, staff["bob"], ref, "third_party_plan", now=at(5), config=CONFIG)
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert (t.kind, t.ack_due_at, t.due_at) == ("inquiry", None, None)
        ev = [e for e in history.events(s, t.id) if e.action == "triaged"][0]
        assert history.detail_of(ev)["before"]["kind"] == "complaint"
        assert history.detail_of(ev)["before"]["ack_due_at"] is not None


def test_acknowledged_complaint_cannot_be_triaged(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    walk(desk, ref, staff["alice"], "acknowledged")
    with desk.session() as s, pytest.raises(IllegalTransition, match="can be triaged"):
        triage(s, staff["alice"], ref, "hardware", now=at(50), config=CONFIG)


def test_roles_and_bad_category(desk):
    staff = team(desk)
    ref = inquiry(desk)
    with desk.session() as s:
        with pytest.raises(AccessDenied):
            triage(s, staff["sam"], ref, "hardware", now=at(5), config=CONFIG)  # seniors review, they do not triage
        with pytest.raises(AccessDenied):
            triage(s, staff["adam"], ref, "hardware", now=at(5), config=CONFIG)
        with pytest.raises(InputError, match="third_party_plan"):
            triage(s, staff["alice"], ref, "weather", now=at(5), config=CONFIG)
    with desk.session() as s:
        t = triage(s, staff["olivia"], ref, "hardware", now=at(6), config=CONFIG)
        assert t.status == "closed"


def test_reopen_as_complaint_keeps_original_receipt_time(desk):
    staff = team(desk)
    ref = inquiry(desk)
    with desk.session() as s:
        triage(s, staff["alice"], ref, "hardware", now=at(60 * 24 * 3), config=CONFIG)
    with desk.session() as s:
        t = reopen_as_complaint(
            s, staff["bob"], ref, now=at(60 * 24 * 4), config=CONFIG, reason="it is about eSIM setup"
        )
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert (t.kind, t.status, t.close_reason, t.out_of_scope, t.closed_at) == (
            "complaint",
            "submitted",
            None,
            None,
            None,
        )
        assert t.received_at == T0
        assert t.ack_due_at == CAL.due_at(T0, 2)
        assert (t.due_at, t.due_clock) == (t.ack_due_at, "acknowledgment")
        assert set(t.info_needed.split(",")) == {"incident_date", "phone"}
        assert [e.action for e in history.events(s, t.id)][-1] == "reopened"


def test_only_inquiries_reopen(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.session() as s, pytest.raises(IllegalTransition):
        reopen_as_complaint(s, staff["alice"], ref, now=at(5), config=CONFIG)
