"""Snapshots of the refund wizard on the frozen demo desk (seed 7, FROZEN_NOW),
at 160x50 and 80x24. Update with: pytest tests/test_snap_refund_wizard.py --snapshot-update
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.business_calendar import BusinessCalendar
from app.identity import Actor, staff_by_login
from app.refunds import decide
from conftest import DEMO_LOGIN, frozen_now
from models import RefundCase, Ticket
from wizard_harness import WizardApp

CAL = BusinessCalendar("EE", None, "Europe/Tallinn")
SIZES = [(160, 50), (80, 24)]


def _pick(desk, *, status: str, outcome: str | None = None, approved: bool | None = None) -> str:
    """The first demo refund (by id) in `status` whose stored facts decide `outcome`."""
    with desk.reader() as s:
        rows = s.execute(
            select(Ticket.reference, RefundCase.policy, RefundCase.facts, RefundCase.approved_at)
            .join(RefundCase, RefundCase.ticket_id == Ticket.id)
            .where(Ticket.kind == "refund", Ticket.status == status)
            .order_by(Ticket.id)
        ).all()
    for ref, policy, facts, approved_at in rows:
        if approved is not None and (approved_at is not None) != approved:
            continue
        if outcome is None or decide(policy, json.loads(facts))["outcome"] == outcome:
            return ref
    pytest.skip(f"the demo desk has no {status} refund deciding {outcome}")


def _app(desk, ref: str) -> WizardApp:
    with desk.reader() as s:
        actor = Actor.of(staff_by_login(s, DEMO_LOGIN))
    return WizardApp(desk, actor, ref, frozen_now, CAL)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snap_wizard_first_step(snap_compare, demo_desk, size):
    ref = _pick(demo_desk, status="under_review")
    assert snap_compare(_app(demo_desk, ref), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snap_wizard_unknown_fact_step(snap_compare, demo_desk, size):
    ref = _pick(demo_desk, status="under_review", outcome="needs_info")

    async def to_unknown_step(pilot):
        screen = pilot.app.screen
        while screen.results[screen.page].answer != "unknown":
            await pilot.press("right")

    assert snap_compare(_app(demo_desk, ref), terminal_size=size, run_before=to_unknown_step)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snap_wizard_needs_info_decision(snap_compare, demo_desk, size):
    ref = _pick(demo_desk, status="under_review", outcome="needs_info")

    async def to_decision(pilot):
        while not pilot.app.screen.on_decision_page:
            await pilot.press("right")

    assert snap_compare(_app(demo_desk, ref), terminal_size=size, run_before=to_decision)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snap_wizard_approved_decision_with_timeline(snap_compare, demo_desk, size):
    ref = _pick(demo_desk, status="processing", outcome="full_refund", approved=True)
    assert snap_compare(_app(demo_desk, ref), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snap_wizard_saved_decision_ready_to_approve(snap_compare, demo_desk, size):
    ref = _pick(demo_desk, status="decided", outcome="case_by_case")
    assert snap_compare(_app(demo_desk, ref), terminal_size=size)
