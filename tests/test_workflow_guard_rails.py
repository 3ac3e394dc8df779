"""Complaint guard rails in the services (issue 17, point 10): no_reply only
after the customer had time to answer, extensions bounded and on business
days, the escalation's reviewer never handles the complaint."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import history, tickets
from app.business_calendar import desk_calendar
from app.config import ComplaintsConfig, parse_config
from app.errors import AccessDenied, ConfigError, IllegalTransition, InputError
from app.workflow import assign, close, extend, update_details
from models import Message
from workflow_helpers import CONFIG, at, new_complaint, take, team, walk

CAL = desk_calendar(CONFIG)


def communicated(desk, staff):
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "resolution_communicated")
    with desk.reader() as s:
        return ref, m, tickets.get(s, ref).resolution_communicated_at


def test_no_reply_only_after_ten_business_days_since_the_resolution(desk):
    staff = team(desk)
    ref, _m, sent = communicated(desk, staff)  # Monday 9 March 2026
    last_day = CAL.add_business_days(sent, 10)  # Monday 23 March
    for when in (sent + timedelta(minutes=1), CAL.end_of_local_day(last_day) - timedelta(seconds=1)):
        with desk.session() as s, pytest.raises(IllegalTransition, match="10 business days .* from 2026-03-24"):
            close(s, staff["alice"], ref, "no_reply", now=when)
    with desk.session() as s:
        t = close(s, staff["alice"], ref, "no_reply", now=CAL.end_of_local_day(last_day) + timedelta(seconds=1))
        assert (t.status, t.close_reason) == ("closed", "no_reply")


def test_no_reply_days_from_config(desk):
    staff = team(desk)
    ref, _m, sent = communicated(desk, staff)
    short = replace(CONFIG, complaints=ComplaintsConfig(no_reply_days=2))
    with desk.session() as s:
        close(
            s,
            staff["alice"],
            ref,
            "no_reply",
            now=CAL.end_of_local_day(CAL.add_business_days(sent, 2)) + timedelta(seconds=1),
            config=short,
        )
    assert parse_config({"complaints": {"no_reply_days": 3, "max_extension_days": 5}}).complaints == ComplaintsConfig(
        3, 5
    )
    for bad in ({"no_reply_days": 0}, {"max_extension_days": "20"}, {"nope": 1}):
        with pytest.raises(ConfigError, match="complaints"):
            parse_config({"complaints": bad})


def investigating(desk, staff):
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "investigation")  # alice is the assignee
    with desk.reader() as s:
        return ref, m, tickets.get(s, ref).resolution_due_at


def test_assignee_extends_at_most_twenty_business_days_supervisor_longer(desk):
    staff = team(desk)
    ref, m, due = investigating(desk, staff)
    limit = CAL.add_business_days(due, 20)
    too_far = CAL.add_business_days(due, 21)
    with desk.session() as s, pytest.raises(AccessDenied, match="at most 20 business days .* needs a supervisor"):
        extend(s, staff["alice"], ref, new_due=too_far.isoformat(), reason="complex", now=at(m), config=CONFIG)
    with desk.session() as s:
        extend(s, staff["alice"], ref, new_due=limit.isoformat(), reason="complex", now=at(m), config=CONFIG)
    with desk.session() as s:
        t = extend(
            s,
            staff["olivia"],
            ref,
            new_due=(limit + timedelta(days=60)).isoformat(),
            reason="very complex",
            now=at(m + 1),
            config=CONFIG,
        )
        assert CAL.local_date(t.resolution_due_at) >= limit + timedelta(days=60)


@pytest.mark.parametrize("who", ["alice", "olivia"])
def test_absurd_dates_are_refused_for_everyone(desk, who):
    staff = team(desk)
    ref, m, _due = investigating(desk, staff)
    with desk.session() as s, pytest.raises(InputError, match="more than a year away"):
        extend(s, staff[who], ref, new_due="9999-12-31", reason="forever", now=at(m), config=CONFIG)
    with desk.reader() as s:
        assert not s.scalars(select(Message).where(Message.template == "progress_update")).all()


def test_a_non_business_day_moves_to_the_next_business_day_and_the_mail_says_so(desk):
    staff = team(desk)
    ref, m, _due = investigating(desk, staff)
    with desk.session() as s:
        t = extend(
            s, staff["alice"], ref, new_due="2026-03-28", reason="waiting for logs", now=at(m), config=CONFIG
        )  # a Saturday
        assert CAL.local_date(t.resolution_due_at) == date(2026, 3, 30)  # Monday
    with desk.reader() as s:
        msg = s.scalars(select(Message).where(Message.template == "progress_update")).one()
        assert "Monday 30 March 2026" in msg.body and "Saturday" not in msg.body
        ev = [e for e in history.events(s, tickets.get(s, ref).id) if e.action == "extend"][0]
        assert "asked" in history.detail_of(ev)
    # a public holiday too: Good Friday 2026 (3 April) in Estonia
    with desk.session() as s:
        t = extend(s, staff["alice"], ref, new_due="2026-04-03", reason="still waiting", now=at(m + 1), config=CONFIG)
        assert CAL.local_date(t.resolution_due_at) == date(2026, 4, 6)


def escalated_and_reviewed(desk, staff, *, taken: bool):
    from app.workflow import assign_reviewer
    from app.workflow.escalations import escalation_of

    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "escalated")
    with desk.reader() as s:
        esc = escalation_of(s, tickets.get(s, ref)).reference
    if taken:
        take(desk, esc, staff["sam"], m)
    else:
        with desk.session() as s:
            assign_reviewer(s, staff["olivia"], esc, "sam", now=at(m), config=CONFIG)
    return ref, esc, m + 10


@pytest.mark.parametrize("taken", [True, False], ids=["review-taken", "reviewer-assigned"])
def test_reviewer_never_becomes_the_complaints_assignee(desk, taken):
    staff = team(desk)
    ref, _esc, m = escalated_and_reviewed(desk, staff, taken=taken)
    with desk.session() as s, pytest.raises(AccessDenied, match="sam reviews .* never handles the complaint"):
        assign(s, staff["olivia"], ref, "sam", now=at(m), config=CONFIG)
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert t.assignee_id == staff["alice"].id
        refused = [history.detail_of(e) for e in history.events(s, t.id) if e.action == "refused"]
        assert refused and refused[-1]["target"] == "sam"
        assert not history.has_touched(s, t.id, "sam")


@pytest.mark.parametrize("taken", [True, False], ids=["review-taken", "reviewer-assigned"])
def test_reviewer_cannot_edit_the_complaint(desk, taken):
    staff = team(desk)
    ref, esc, m = escalated_and_reviewed(desk, staff, taken=taken)
    with desk.session() as s, pytest.raises(AccessDenied, match="never handles the complaint"):
        update_details(s, staff["sam"], ref, now=at(m), priority=1)
    with desk.reader() as s:
        t = tickets.get(s, ref)
        assert t.priority != 1 and not history.has_touched(s, t.id, "sam")
    with desk.session() as s:  # the escalation itself stays the reviewer's to edit
        update_details(s, staff["sam"], esc, now=at(m), priority=1)
