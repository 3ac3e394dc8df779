"""Extending a complex complaint's resolution deadline."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app import history, tickets
from app.business_calendar import desk_calendar
from app.errors import AccessDenied, IllegalTransition, InputError
from app.workflow import extend
from models import Message
from workflow_helpers import CONFIG, at, new_complaint, team, walk

CAL = desk_calendar(CONFIG)


def investigating(desk, staff):
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "investigation")  # alice acknowledged: she is the assignee
    return ref, m


def test_assigned_agent_extends_with_reason_and_customer_gets_new_timeframe(desk):
    staff = team(desk)
    ref, m = investigating(desk, staff)
    with desk.reader() as s:
        old = tickets.get(s, ref).resolution_due_at
    with desk.session() as s:
        t = extend(
            s,
            staff["alice"],
            ref,
            new_due="2026-04-10",
            reason="Waiting for the carrier's logs",
            now=at(m),
            config=CONFIG,
        )
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert t.resolution_due_at == CAL.end_of_local_day(date(2026, 4, 10))
        assert (t.due_at, t.due_clock, t.extensions) == (t.resolution_due_at, "resolution", 1)
        msg = s.scalars(select(Message).where(Message.ticket_id == t.id, Message.template == "progress_update")).one()
        assert "Friday 10 April 2026" in msg.body and "carrier's logs" in msg.body and ref in msg.subject
        old_d = CAL.local_date(old)
        assert f"{old_d.day} {old_d.strftime('%B %Y')}" in msg.body
        ev = [e for e in history.events(s, t.id) if e.action == "extend"][0]
        d = history.detail_of(ev)
        assert (
            d["reason"] == "Waiting for the carrier's logs" and d["before"] and d["after"] and d["before"] != d["after"]
        )


def test_supervisor_may_extend_other_agents_may_not(desk):
    staff = team(desk)
    ref, m = investigating(desk, staff)
    with desk.session() as s, pytest.raises(AccessDenied, match="supervisors or its assigned agent"):
        extend(s, staff["bob"], ref, new_due="2026-04-10", reason="x", now=at(m), config=CONFIG)
    with desk.session() as s:
        extend(s, staff["olivia"], ref, new_due="2026-04-10", reason="complex", now=at(m), config=CONFIG)
    with desk.session() as s:
        t = extend(s, staff["olivia"], ref, new_due="2026-04-20", reason="still complex", now=at(m + 1), config=CONFIG)
        assert t.extensions == 2


@pytest.mark.parametrize(
    "new_due,reason,match",
    [
        ("2026-04-10", "", "reason"),
        ("2026-04-10", "   ", "reason"),
        ("2026-03-10", "earlier", "later than"),
        ("10.04.2026", "bad format", "YYYY-MM-DD"),
    ],
)
def test_extension_rules(desk, new_due, reason, match):
    staff = team(desk)
    ref, m = investigating(desk, staff)
    with desk.session() as s, pytest.raises(InputError, match=match):
        extend(s, staff["alice"], ref, new_due=new_due, reason=reason, now=at(m), config=CONFIG)
    with desk.reader() as s:
        assert tickets.get(s, ref).extensions == 0


@pytest.mark.parametrize("state", ["submitted", "resolution_communicated", "closed"])
def test_only_a_running_resolution_clock_extends(desk, state):
    staff = team(desk)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], state)
    with desk.session() as s, pytest.raises(IllegalTransition):
        extend(s, staff["olivia"], ref, new_due="2026-05-10", reason="r", now=at(m), config=CONFIG)
