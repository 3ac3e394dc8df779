"""Confirmation before money moves, the approver's case-by-case decision,
the statutory-rights paragraph, the acknowledgment and the refund clocks
(issue 17 points 6-9, issue 15 point 6), on a real SQLite desk."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app import refund_cases
from app.clocks import ticket_sla_state
from app.errors import IllegalTransition, InputError
from app.export import iter_tickets
from app.sla_clocks import refund_ack_due
from models import Ticket
from refund_case_helpers import CAL, RECEIVED, add_refund_ticket, add_staff
from test_refund_cases_services import REF, case, events, facts_for, outbound, run, setup, ticket, version  # noqa: F401 (fixture)

NOW = RECEIVED + timedelta(hours=2)
TECH_OK = {"provider_fault_confirmed": True, "instructions_followed": True, "troubleshooting_completed": True}
RIGHTS = "does not affect your statutory rights"


@pytest.fixture
def airalo(desk):
    with desk.session() as s:
        actor = add_staff(s)
        add_refund_ticket(s, REF, brand="airalo")
    return desk, actor


def decided(desk, actor, **facts):
    return run(
        desk, refund_cases.record_facts, actor, REF, facts_for(desk, **facts), expected_version=version(desk), now=NOW
    )


# ---- 6.1.7: approval refused until the investigation finding is recorded ------
def test_unauthorised_purchase_needs_a_recorded_finding_before_approval(airalo):
    desk, actor = airalo
    d = decided(desk, actor, reason="unauthorized_purchase")
    assert (d["outcome"], d["waits_for"]) == ("investigate", "investigation_finding")
    with pytest.raises(IllegalTransition, match="6.1.7.*record the finding first"):
        run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    with pytest.raises(InputError, match="needs a note"):
        run(
            desk,
            refund_cases.record_investigation,
            actor,
            REF,
            result="confirmed",
            note=" ",
            expected_version=None,
            now=NOW,
        )
    run(
        desk,
        refund_cases.record_investigation,
        actor,
        REF,
        result="not_confirmed",
        note="card holder made it",
        expected_version=version(desk),
        now=NOW,
    )
    with pytest.raises(IllegalTransition, match="did not confirm"):
        run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    later = NOW + timedelta(hours=1)
    run(
        desk,
        refund_cases.record_investigation,
        actor,
        REF,
        result="confirmed",
        note="the card was stolen; bank report",
        expected_version=version(desk),
        now=later,
    )
    c = case(desk)
    assert (c.investigation_by, c.investigation_at, c.investigation_result) == ("alice", later, "confirmed")
    run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=later, cal=CAL, amount="20.00")
    assert case(desk).approved_at == later
    assert [e[3]["result"] for e in events(desk) if e[0] == "investigation"] == ["not_confirmed", "confirmed"]


def test_investigation_only_where_the_decision_waits_for_one(setup):
    desk, actor = setup
    decided(desk, actor, reason="billing_error")
    with pytest.raises(IllegalTransition, match="does not wait"):
        run(
            desk,
            refund_cases.record_investigation,
            actor,
            REF,
            result="confirmed",
            note="x",
            expected_version=None,
            now=NOW,
        )


# ---- chargebacks: flagged, waiting, 7.1/7.2 ------------------------------------
def test_chargeback_waits_for_its_outcome_with_the_clock_paused(setup):
    desk, actor = setup
    d = decided(desk, actor, reason="billing_error", chargeback_filed=True)
    assert d["outcome"] == "investigate" and d["chargeback_pending"] and d["sections"][:2] == ["7.1", "7.2"]
    t, c = ticket(desk), case(desk)
    assert c.chargeback_filed and t.paused_since == NOW and t.due_clock == "refund_decision"
    with pytest.raises(IllegalTransition, match="chargeback is still open"):
        run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    with pytest.raises(IllegalTransition, match="chargeback is still open"):
        run(desk, refund_cases.deny, actor, REF, expected_version=version(desk), now=NOW, reason="no")
    later = NOW + timedelta(days=2)
    d2 = run(
        desk,
        refund_cases.record_facts,
        actor,
        REF,
        facts_for(desk, reason="billing_error", chargeback_filed=True, chargeback_outcome="withdrawn"),
        expected_version=version(desk),
        now=later,
    )
    assert d2["outcome"] == "full_refund" and "7.1" in d2["sections"] and ticket(desk).paused_since is None
    run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=later, cal=CAL)


# ---- case by case: the approver's amount and fee, or a reasoned denial ---------
def test_case_by_case_approved_with_amount_and_fee_and_the_mail_states_them(airalo):
    desk, actor = airalo
    d = decided(desk, actor, reason="unused_data", activated=True, data_used_mb=800)
    assert d["outcome"] == "case_by_case" and d["processing_fee_may_apply"]
    v = version(desk)
    for amount, fee, match in (
        (None, None, "approved with an amount"),
        ("25", "0", "more than the 20.00"),
        ("15", "6", "more than the 20.00"),
        ("0", None, "more than 0"),
        ("abc", None, "not a number"),
        ("5.555", None, "two decimals"),
    ):
        with pytest.raises(InputError, match=match):
            run(desk, refund_cases.approve, actor, REF, expected_version=v, now=NOW, cal=CAL, amount=amount, fee=fee)
    run(desk, refund_cases.approve, actor, REF, expected_version=v, now=NOW, cal=CAL, amount="12.50", fee="2.50")
    c = case(desk)
    assert (str(c.approved_amount), str(c.processing_fee)) == ("12.50", "2.50")
    body = outbound(desk)[-1].body
    assert "Amount: 12.50 EUR, to your original payment method" in body and "Processing fee: 2.50 EUR" in body
    assert RIGHTS not in body  # airalo has no such paragraph
    run(
        desk,
        refund_cases.mark_initiated,
        actor,
        REF,
        expected_version=version(desk),
        now=NOW + timedelta(days=1),
        cal=CAL,
    )
    assert "Amount: 12.50 EUR" in outbound(desk)[-1].body


def test_no_fee_where_the_policy_allows_none(setup):
    desk, actor = setup
    decided(desk, actor, reason="billing_error")
    with pytest.raises(InputError, match="no processing fee"):
        run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL, fee="1")
    with pytest.raises(InputError, match="not the approver's to change"):
        run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL, amount="10")


def test_case_by_case_denied_with_a_reason_and_the_esimium_rights_paragraph(setup):
    desk, actor = setup
    d = decided(desk, actor, reason="other", request_at=(RECEIVED + timedelta(days=9)).isoformat())
    assert d["outcome"] == "case_by_case"
    with pytest.raises(InputError, match="needs the reason"):
        run(desk, refund_cases.deny, actor, REF, expected_version=version(desk), now=NOW)
    run(
        desk,
        refund_cases.deny,
        actor,
        REF,
        expected_version=version(desk),
        now=NOW,
        reason="The eSIM was bought for a trip that took place.",
    )
    t, msg = ticket(desk), outbound(desk)[-1]
    assert (t.status, t.close_reason) == ("closed", "refund_denied")
    assert "took place" in msg.body and "section 2.2" in msg.body and RIGHTS in msg.body
    assert case(desk).decision_sent_at == NOW


@pytest.mark.parametrize(
    ("facts", "action"),
    [
        ({"reason": "billing_error"}, "approve"),
        ({"reason": "no_longer_needed", "activated": True}, "deny"),
        ({"reason": "non_delivery", "quantity": 12}, "refer"),
    ],
)
def test_every_esimium_decision_mail_carries_the_statutory_rights(setup, facts, action):
    desk, actor = setup
    decided(desk, actor, **facts)
    kw = {"cal": CAL} if action == "approve" else {}
    run(desk, getattr(refund_cases, action), actor, REF, expected_version=version(desk), now=NOW, **kw)
    assert RIGHTS in outbound(desk)[-1].body


def test_combined_payment_mail_names_both_parts(airalo):
    desk, actor = airalo
    decided(desk, actor, reason="technical_failure", airmoney_amount=5.0, **TECH_OK)
    run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    body = outbound(desk)[-1].body
    assert "15.00 EUR to your original payment method and 5.00 EUR to your Airalo account as Airmoney" in body


# ---- acknowledgment and clocks ---------------------------------------------------
def test_acknowledgment_clock_and_action(setup):
    desk, actor = setup
    with desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == REF)).one()
        t.ack_due_at = refund_ack_due(CAL, t.received_at)
        from app.workflow.guard import refresh_due

        refresh_due(t)
    t = ticket(desk)
    assert (t.due_clock, t.due_at) == ("refund_ack", refund_ack_due(CAL, RECEIVED))  # Monday 10:00 -> Tuesday 10:00
    assert CAL.local_date(t.due_at) == CAL.add_business_days(RECEIVED, 1)
    msg = run(desk, refund_cases.acknowledge, actor, REF, now=NOW, expected_version=version(desk))
    assert msg.template == "refund_acknowledgment" and REF in msg.subject
    assert "Thursday 12 March 2026" in msg.body and "decision by email" in msg.body
    t = ticket(desk)
    assert (t.acknowledged_at, t.due_clock) == (NOW, "refund_review")
    with pytest.raises(IllegalTransition, match="was acknowledged"):
        run(desk, refund_cases.acknowledge, actor, REF, now=NOW, expected_version=None)


def test_every_open_refund_stage_has_a_running_clock(setup):
    desk, actor = setup
    seen = []

    def state():
        with desk.reader() as s:
            t = s.scalars(select(Ticket).where(Ticket.reference == REF)).one()
            row = next(r for r in iter_tickets(s, now=NOW) if r["reference"] == REF)
            seen.append((t.status, t.due_clock))
            assert ticket_sla_state(t, NOW) is not None and row["sla_state"] is not None, (t.status, t.due_clock)

    state()
    decided(desk, actor, reason="billing_error")
    state()
    run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    state()
    run(desk, refund_cases.mark_initiated, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    state()
    assert seen == [
        ("submitted", "refund_review"),
        ("decided", "refund_decision"),
        ("decided", "refund_initiation"),
        ("processing", "refund_in_account"),
    ]
    c = case(desk)
    assert CAL.local_date(ticket(desk).due_at) == CAL.add_business_days(c.approved_at, 15)


def test_airalo_money_in_account_within_30_days(airalo):
    desk, actor = airalo
    decided(desk, actor, reason="technical_failure", **TECH_OK)
    run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    run(desk, refund_cases.mark_initiated, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    assert CAL.local_date(ticket(desk).due_at) == CAL.local_date(NOW) + timedelta(days=30)


# ---- the same from the shell -----------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def test_cli_approve_with_amount_and_fee_and_deny_with_reason(tmp_path):
    from app.db import open_desk

    db = tmp_path / "desk.sqlite"
    desk = open_desk(f"sqlite:///{db}")
    with desk.session() as s:
        add_staff(s, getpass.getuser(), "supervisor")
        add_refund_ticket(s, REF, brand="airalo")
        add_refund_ticket(s, "RFD-2026-000002", brand="airalo")
    for ref in (REF, "RFD-2026-000002"):
        with desk.session() as s:
            actor = add_staff(s, f"agent{ref[-1]}")
        with desk.session() as s:
            f = refund_cases.load(s, ref).facts
            f.update(reason="unused_data", activated=True, data_used_mb=800)
            refund_cases.record_facts(s, actor, ref, f, expected_version=None, now=NOW)
    desk.dispose()
    env = {
        **os.environ,
        "ESIMDESK_DB": f"sqlite:///{db}",
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("ESIMDESK_CONFIG", None)

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "app.cli.main", "refund", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        )

    p = cli("approve", REF)
    assert p.returncode == 2 and "approved with an amount" in p.stderr and "Traceback" not in p.stderr
    p = cli("approve", REF, "--amount", "15", "--fee", "3")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["due_clock"] == "refund_initiation"
    p = cli("deny", "RFD-2026-000002")
    assert p.returncode == 2 and "needs the reason" in p.stderr
    p = cli("deny", "RFD-2026-000002", "--reason", "The package was mostly used.")
    assert p.returncode == 0 and json.loads(p.stdout)["close_reason"] == "refund_denied"


def test_the_acknowledgment_clock_is_on_the_wall(setup):
    """Issue 15 point 6: an unacknowledged refund request's 24-hour clock is a wall deadline, with a label."""
    from app.dashboard_data import snapshot
    from models.enums import Clock
    from screens.dashboard import CLOCK_LABEL, NARROW_CLOCK

    desk, _actor = setup
    with desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == REF)).one()
        t.ack_due_at = refund_ack_due(CAL, t.received_at)
        from app.workflow.guard import refresh_due

        refresh_due(t)
    with desk.reader() as s:
        data = snapshot(s, NOW, CAL, 0.25)
    assert [(d.reference, d.clock) for d in data.next_deadlines] == [(REF, "refund_ack")]
    for clock in Clock:
        assert clock.value in CLOCK_LABEL and clock.value in NARROW_CLOCK
