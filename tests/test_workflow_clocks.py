"""The deadlines the workflow stores agree with the calendar module's batch
recompute (app.deadlines), and intake details can be completed later."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import history, tickets
from app.business_calendar import desk_calendar
from app.deadlines import preview_recompute
from app.errors import IllegalTransition, InputError
from app.workflow import (
    create_inquiry,
    extend,
    final_response,
    reopen_as_complaint,
    triage,
    update_details,
)
from models import Ticket
from workflow_helpers import CONFIG, T0, at, new_complaint, take, team, walk

CAL = desk_calendar(CONFIG)


def test_stored_deadlines_match_a_full_recompute(desk):
    staff = team(desk)
    for state in [
        "submitted",
        "acknowledged",
        "information_gathering",
        "investigation",
        "resolution_proposed",
        "resolution_communicated",
        "escalated",
        "closed",
    ]:
        walk(desk, new_complaint(desk), staff["alice"], state)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "investigation")
    with desk.session() as s:
        extend(
            s, staff["olivia"], ref, new_due="2026-04-30", reason="complex", now=at(m), config=CONFIG
        )  # > 20 bd: a supervisor
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "escalated")
    with desk.reader() as s:
        esc_ref = s.scalars(
            select(Ticket.reference).where(Ticket.kind == "escalation").order_by(Ticket.id.desc())
        ).first()
    take(desk, esc_ref, staff["sam"], m)
    with desk.session() as s:
        final_response(s, staff["sam"], esc_ref, "final", now=at(m + 5), config=CONFIG)
    with desk.session() as s:
        open_inq = create_inquiry(s, received_at=T0, email="a@example.com", config=CONFIG).reference
        oos = create_inquiry(s, received_at=T0, email="b@example.com", config=CONFIG).reference
    with desk.session() as s:
        triage(s, staff["bob"], oos, "general_inquiry", now=at(3), config=CONFIG)
    with desk.session() as s:
        reopen_as_complaint(s, staff["bob"], oos, now=at(4), config=CONFIG)
    with desk.reader() as s:
        assert tickets.get(s, open_inq).ack_due_at == CAL.due_at(T0, 2)
        assert preview_recompute(s, CAL, at(600)) == 0


def test_missing_details_supplied_later_clear_info_needed(desk):
    staff = team(desk)
    ref = new_complaint(desk, phone=None, incident_date=None)
    with desk.reader() as s:
        assert tickets.get(s, ref).info_needed == "incident_date,phone"
    with desk.session() as s:
        changed = update_details(
            s, staff["alice"], ref, now=at(5), phone="+372 5123 4567", incident_date="2026-03-05", region="Europe"
        )
        assert changed == ["phone", "incident_date", "region"]
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert t.info_needed is None and t.region == "europe"
        evs = [history.detail_of(e) for e in history.events(s, t.id) if e.action == "field"]
        assert [e["field"] for e in evs] == ["phone", "incident_date", "region", "info_needed"]
        assert "after" not in evs[0]  # personal data is not copied into history
        assert evs[2]["before"] == "southeast_asia" and evs[2]["after"] == "europe"


def test_bad_details_refused(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.session() as s:
        with pytest.raises(InputError, match="malformed"):
            update_details(s, staff["alice"], ref, now=at(5), email="nope")
        with pytest.raises(InputError, match="unknown field"):
            update_details(s, staff["alice"], ref, now=at(5), status="closed")
        with pytest.raises(InputError, match="priority"):
            update_details(s, staff["alice"], ref, now=at(5), priority=9)
    walk(desk, ref, staff["alice"], "closed")
    with desk.session() as s, pytest.raises(IllegalTransition):
        update_details(s, staff["alice"], ref, now=at(500), priority=1)
