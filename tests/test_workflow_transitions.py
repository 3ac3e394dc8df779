"""Every allowed and refused move of the complaint, escalation and inquiry workflows."""

from __future__ import annotations

import pytest

from app import tickets
from app.errors import IllegalTransition, InputError
from app.workflow import close, create_inquiry, move, request_info, states
from models.enums import TicketStatus
from workflow_helpers import CONFIG, T0, at, new_complaint, team, walk

COMPLAINT_STATES = [
    "submitted",
    "acknowledged",
    "information_gathering",
    "investigation",
    "resolution_proposed",
    "resolution_communicated",
    "escalated",
    "closed",
]
TARGETS = [s.value for s in TicketStatus]


def expected_by_move(state: str) -> set[str]:
    """What `move` may reach: the table, except escalation (its own service) and
    closing an escalated complaint (only the final response does that)."""
    if state == "escalated":
        return set()
    return set(states.COMPLAINT_MOVES[state]) - {"escalated"}


@pytest.mark.parametrize("state", COMPLAINT_STATES)
@pytest.mark.parametrize("target", TARGETS)
def test_complaint_move_table(desk, state, target):
    staff = team(desk)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], state)
    with desk.reader() as s:
        before = tickets.get(s, ref)
        assert before.status == state
        version = before.version
    reason = "accepted" if state == "resolution_communicated" else "withdrawn"
    allowed = target in expected_by_move(state)
    with desk.session() as s:
        if allowed:
            t = move(s, staff["alice"], ref, target, now=at(m), config=CONFIG, text="Proposal text", reason=reason)
            assert t.status == target
        else:
            with pytest.raises(IllegalTransition) as exc:
                move(s, staff["alice"], ref, target, now=at(m), config=CONFIG, text="Proposal text", reason=reason)
            assert "\n" not in str(exc.value)
    with desk.reader() as s:
        after = tickets.get(s, ref)
        if allowed:
            assert after.status == target and after.version > version
        else:
            assert after.status == state and after.version == version


def test_refusal_names_current_state_and_allowed_moves(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.session() as s, pytest.raises(IllegalTransition) as exc:
        move(s, staff["alice"], ref, "investigation", now=at(5), config=CONFIG)
    assert f"{ref} (complaint) is submitted" in str(exc.value)
    assert "allowed: acknowledged, closed" in str(exc.value)


CLOSE_CASES = [
    ("submitted", "withdrawn", True),
    ("submitted", "accepted", False),
    ("investigation", "withdrawn", True),
    ("investigation", "accepted", False),
    ("investigation", "no_reply", False),
    ("resolution_communicated", "accepted", True),
    ("resolution_communicated", "no_reply", True),
    ("resolution_communicated", "answered", False),
    ("resolution_communicated", "final_response", False),
    ("resolution_communicated", "out_of_scope", False),
    ("escalated", "accepted", False),
    ("escalated", "withdrawn", False),
    ("escalated", "final_response", False),
    ("closed", "withdrawn", False),
]


@pytest.mark.parametrize("state,reason,ok", CLOSE_CASES)
def test_complaint_close_reasons(desk, state, reason, ok):
    staff = team(desk)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], state)
    when = at(m + 60 * 24 * 30) if reason == "no_reply" else at(m)  # no_reply: after [complaints] no_reply_days
    with desk.session() as s:
        if ok:
            t = close(s, staff["alice"], ref, reason, now=when)
            assert (t.status, t.close_reason, t.due_at) == ("closed", reason, None)
        else:
            with pytest.raises(IllegalTransition):
                close(s, staff["alice"], ref, reason, now=when)


@pytest.mark.parametrize("state", COMPLAINT_STATES)
def test_request_info_only_before_a_proposal(desk, state):
    staff = team(desk)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], state)
    with desk.session() as s:
        if state in states.REQUEST_INFO_FROM:
            msg = request_info(s, staff["alice"], ref, "A screenshot of the error", now=at(m), config=CONFIG)
            assert msg.template == "information_request" and ref in msg.subject
            t = tickets.get(s, ref)
            assert t.status == "information_gathering"
            assert t.paused_since is None  # complaint clocks do not pause (documented in complaints.py)
        else:
            with pytest.raises(IllegalTransition):
                request_info(s, staff["alice"], ref, "A screenshot", now=at(m), config=CONFIG)


def test_move_to_escalated_points_to_the_escalation_request(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    m = walk(desk, ref, staff["alice"], "resolution_communicated")
    with desk.session() as s, pytest.raises(IllegalTransition, match="ticket escalate"):
        move(s, staff["alice"], ref, "escalated", now=at(m), config=CONFIG)


def test_close_needs_a_reason_and_unknown_status_is_refused(desk):
    staff = team(desk)
    ref = new_complaint(desk)
    with desk.session() as s:
        with pytest.raises(InputError):
            move(s, staff["alice"], ref, "closed", now=at(5), config=CONFIG)
        with pytest.raises(IllegalTransition, match="unknown status"):
            move(s, staff["alice"], ref, "resolved", now=at(5), config=CONFIG)


@pytest.mark.parametrize("target", TARGETS)
def test_inquiry_moves(desk, target):
    staff = team(desk)
    with desk.session() as s:
        ref = create_inquiry(s, received_at=T0, email="q@example.com", subject="Which plan?", config=CONFIG).reference
    with desk.session() as s:
        if target == "closed":
            t = move(s, staff["alice"], ref, "closed", now=at(5), config=CONFIG, reason="answered")
            assert t.close_reason == "answered"
        else:
            with pytest.raises(IllegalTransition):
                move(s, staff["alice"], ref, target, now=at(5), config=CONFIG)


def test_inquiry_cannot_close_as_accepted(desk):
    staff = team(desk)
    with desk.session() as s:
        ref = create_inquiry(s, received_at=T0, email="q@example.com", config=CONFIG).reference
    with desk.session() as s, pytest.raises(IllegalTransition):
        close(s, staff["alice"], ref, "accepted", now=at(5))
