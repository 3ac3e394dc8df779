"""Snapshot of the refund wizard's facts page: every fact with where it came
from (the demo desk's orders are imported: "order, imported 23 Nov 10:00").
Update with: pytest tests/test_snap_orders_wizard.py --snapshot-update"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.business_calendar import BusinessCalendar
from app.identity import Actor, staff_by_login
from conftest import DEMO_LOGIN, frozen_now
from models import Ticket
from wizard_harness import WizardApp

CAL = BusinessCalendar("EE", None, "Europe/Tallinn")
SIZES = [(160, 50), (80, 24)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snap_wizard_facts_with_their_sources(snap_compare, demo_desk, size):
    with demo_desk.reader() as s:
        actor = Actor.of(staff_by_login(s, DEMO_LOGIN))
        ref = s.scalars(
            select(Ticket.reference)
            .where(Ticket.kind == "refund", Ticket.status == "under_review", Ticket.order_id.is_not(None))
            .order_by(Ticket.id)
        ).first()
    assert snap_compare(WizardApp(demo_desk, actor, ref, frozen_now, CAL), terminal_size=size, press=["f"])
