"""The ticket action table (app.workflow.actions): one entry per action, read
by next_actions, the ticket screen, the CLI and its command access.

The offering rule is checked against the rule it replaced (kept here as the
oracle) for every kind, state, role and part a person can have in a ticket."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from app.cli.access import COMMAND_ACCESS
from app.cli.main import build_parser
from app.identity import PERMISSIONS, Actor
from app.workflow import actions, states
from app.workflow.actions import TICKET_ACTIONS, Prompt
from app.workflow.triage import can_triage
from models.enums import TicketKind, TicketStatus

S = TicketStatus
OLD_ORDER = (
    "acknowledge",
    "request_info",
    "note",
    "investigate",
    "reply",
    "propose",
    "communicate",
    "extend",
    "escalate",
    "close",
    "triage",
    "reopen",
    "refund_wizard",
    "assign",
    "take_review",
    "final_response",
)


def old_next_actions(t, actor) -> list[str]:
    """The rule before the table (app/workflow/actions.py at 555de19), session-free part."""
    out = []
    work = actor.can("work_tickets")
    closed = t.status == S.CLOSED
    if work:
        out.append("note")
    if t.kind == TicketKind.COMPLAINT and work:
        if t.status == S.SUBMITTED:
            out.append("acknowledge")
        if t.status in states.REQUEST_INFO_FROM:
            out.append("request_info")
        if S.INVESTIGATION in states.allowed(t) and t.status != S.RESOLUTION_PROPOSED:
            out.append("investigate")
        if not closed:
            out.append("reply")
        if t.status == S.INVESTIGATION:
            out.append("propose")
        if t.status == S.RESOLUTION_PROPOSED:
            out.append("communicate")
        if (
            t.acknowledged_at is not None
            and t.resolution_communicated_at is None
            and not closed
            and t.status != S.ESCALATED
            and (actor.can("extend") or t.assignee_id == actor.id)
        ):
            out.append("extend")
        if t.status == S.RESOLUTION_COMMUNICATED:
            out.append("escalate")
        if states.CLOSE_REASONS.get(t.kind, {}).get(t.status) and t.status != S.ESCALATED:
            out.append("close")
    if t.kind == TicketKind.INQUIRY and work:
        if not closed:
            out += ["reply", "close"]
        if actor.can("triage"):
            out.append("reopen")
    if actor.can("triage") and can_triage(t):
        out.append("triage")
    if t.kind == TicketKind.REFUND and work and not closed:
        out.append("reply")
        if actor.can("refund_decide"):
            out.append("refund_wizard")
    if t.kind == TicketKind.ESCALATION and not closed:
        if t.reviewer_id is None and actor.can("review_escalations"):
            out.append("take_review")
        if t.reviewer_id == actor.id and t.status == S.IN_REVIEW:
            out += ["reply", "final_response"]
        if actor.can("reassign"):
            out.append("assign")
    elif not closed and work and t.kind != TicketKind.ESCALATION and (actor.can("reassign") or t.assignee_id is None):
        out.append("assign")
    return [a for a in OLD_ORDER if a in out]


def test_the_table_offers_exactly_what_the_old_rule_offered():
    when = datetime(2026, 11, 2, tzinfo=UTC)
    checked = 0
    people = (None, 3, 7)  # nobody, a colleague, the person acting (id 7)
    for kind, status, role, assignee, reviewer, acked, communicated in itertools.product(
        list(TicketKind),
        list(TicketStatus),
        list(PERMISSIONS),
        people,
        people,
        (None, when),
        (None, when),
    ):
        actor = Actor(id=7, login="x", name="X", role=role)
        t = SimpleNamespace(
            kind=kind.value,
            status=status.value,
            reference="T-1",
            assignee_id=assignee,
            reviewer_id=reviewer,
            acknowledged_at=acked,
            resolution_communicated_at=communicated,
        )
        assert actions.next_actions(t, actor) == old_next_actions(t, actor), (kind, status, role, assignee, reviewer)
        checked += 1
    assert checked == 4 * 12 * 4 * 3 * 3 * 2 * 2
    assert (*OLD_ORDER, "merge") == actions.ACTIONS  # "Next steps" and `ticket show` keep their order; merge added last


def test_every_entry_is_complete_and_its_key_and_id_unique():
    ids = [a.id for a in TICKET_ACTIONS]
    keys = [a.key for a in TICKET_ACTIONS]
    clis = [a.cli for a in TICKET_ACTIONS if a.cli]
    assert len(set(ids)) == len(ids) and len(set(keys)) == len(keys) and len(set(clis)) == len(clis)
    for a in TICKET_ACTIONS:
        assert a.label and "_" not in a.label, a.id  # words, not code names
        assert (a.service is None) == (a.prompt is Prompt.SCREEN), a.id
        if a.prompt is Prompt.CHOICE:
            assert a.options is not None and a.title, a.id
        if a.prompt in (Prompt.TEXT, Prompt.REPLY, Prompt.EXTEND):
            assert a.title, a.id
        if a.service is not None:
            assert a.done, a.id
        if a.who is not None:
            assert any(a.who in perms for perms in PERMISSIONS.values()), a.id
            assert a.roles and all(a.who in PERMISSIONS[r] for r in a.roles)


def test_the_cli_and_its_access_table_follow_the_action_table():
    parser = build_parser()
    ticket = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "ticket")[1]
    subs = ticket._subparsers._group_actions[0].choices
    for a in TICKET_ACTIONS:
        if a.cli:
            assert a.cli in subs, a.id
            assert COMMAND_ACCESS[f"ticket {a.cli}"] == "staff"  # the services check the roles
            for arg in a.cli_args:
                assert any(arg.dest == act.dest for act in subs[a.cli]._actions), (a.id, arg.name)


@pytest.mark.parametrize("action", [a for a in TICKET_ACTIONS if a.confirm is not None], ids=lambda a: a.id)
def test_headlines_name_the_ticket_and_the_customer(action):
    fields = {"ref": "CMP-1", "who": "Ann", "value": "accepted", "choice": "the customer accepted", "status": "new"}
    line = action.headline(fields)
    assert "CMP-1" in line and "Ann" in line and "{" not in line


def test_no_action_says_mail_was_sent_when_it_was_only_queued():
    """Customer mail leaves with the next outbox run, and can fail: the word
    after an action that writes mail says queued, never sent."""
    from app.workflow.actions import TICKET_ACTIONS

    for a in TICKET_ACTIONS:
        assert "sent" not in a.done.split(), (a.id, a.done)
    assert actions.BY_ID["final_response"].done == "final response queued"
