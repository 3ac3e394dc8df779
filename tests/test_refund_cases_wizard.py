"""Pilot tests: the refund wizard walks the engine's steps and shows the same
decision as `decide()` (the CLI's engine), for one case of each outcome;
unknown facts end with an information request; saving goes through
app.refund_cases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import history
from app.refunds import decide, walk
from models import Message, RefundCase, Ticket
from refund_case_helpers import CAL, RECEIVED, add_staff
from widgets.policy_step import OUTCOME_LABEL
from wizard_harness import WizardApp, add_case, page_text, walk_to_decision

NOW = RECEIVED + timedelta(hours=3)
P, R = "2025-03-10T09:00:00Z", "2025-03-12T09:00:00Z"
TECH_OK = {"provider_fault_confirmed": True, "instructions_followed": True, "troubleshooting_completed": True}


def facts(**kw) -> dict:
    base = {"purchase_at": P, "request_at": R, "amount_paid": 20.0, "currency": "EUR", "reason": "other"}
    base.update(kw)
    return base


# one case of each outcome the policies produce (both policies)
OUTCOME_CASES = [
    ("esimium", facts(reason="billing_error"), "full_refund"),
    (
        "esimium",
        facts(reason="technical_failure", activated=True, alternative="partial_refund", partial_amount=7.5),
        "partial_refund",
    ),
    ("esimium", facts(reason="incorrect_product", alternative="replacement"), "replacement"),
    ("esimium", facts(reason="no_longer_needed", alternative="store_credit"), "store_credit"),
    ("esimium", facts(reason="medical_emergency", documentation_provided=True, activated=True), "case_by_case"),
    ("esimium", facts(reason="force_majeure", activated=True), "needs_info"),
    ("esimium", facts(reason="unauthorized_purchase"), "investigate"),
    ("esimium", facts(reason="non_delivery", quantity=10), "refer"),
    ("esimium", facts(reason="network_coverage", activated=True), "denied"),
    ("airalo", facts(reason="technical_failure", **TECH_OK), "full_refund"),
    ("airalo", facts(reason="billing_error", invoice_received_at="2025-03-11T09:00:00Z"), "partial_refund"),
    ("airalo", facts(reason="replacement_request", payment_method="airmoney_promo"), "replacement"),
    ("airalo", facts(reason="unused_data"), "case_by_case"),
    ("airalo", facts(reason="service_unavailable", provider_fault_confirmed=True), "needs_info"),
    ("airalo", facts(reason="unauthorized_purchase"), "investigate"),
    ("airalo", facts(reason="technical_failure", customer_type="end_customer", **TECH_OK), "refer"),
    ("airalo", facts(reason="compensation_claim"), "denied"),
    ("esimium", facts(reason="non_delivery", chargeback_filed=True), None),  # chargeback consequences shown
]


@pytest.fixture
def agent(desk):
    with desk.session() as s:
        return add_staff(s, "alice", "agent")


def app_for(desk, actor, ref: str) -> WizardApp:
    return WizardApp(desk, actor, ref, lambda: NOW, CAL)


def wizard_for(desk, actor, ref: str, policy: str, case_facts: dict | None, **kw) -> WizardApp:
    """A stored refund case `ref` and the wizard opened on it."""
    with desk.session() as s:
        add_case(s, ref, policy, case_facts, **kw)
    return app_for(desk, actor, ref)


async def to_first_unknown(pilot, screen) -> None:
    """Page forward to the first step whose fact is not known yet."""
    while screen.results[screen.page].answer != "unknown":
        await pilot.press("right")


@pytest.mark.parametrize(
    ("policy", "case_facts", "expected"),
    OUTCOME_CASES,
    ids=[f"{p}-{e or 'chargeback'}-{i}" for i, (p, _f, e) in enumerate(OUTCOME_CASES)],
)
async def test_wizard_decision_equals_cli_engine(desk, agent, policy, case_facts, expected):
    ref = "RFD-2026-000101"
    with desk.session() as s:
        add_case(s, ref, policy, case_facts)
    cli = decide(policy, case_facts)
    if expected:
        assert cli["outcome"] == expected
    app = app_for(desk, agent, ref)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        # page 1 is the policy's first step, with its section and question
        first = walk(policy, case_facts)[0]
        text = page_text(screen)
        assert f"Section {first.section}" in text and first.question in text
        pages = await walk_to_decision(pilot)
        assert pages == len(cli["steps"])  # one page per visited step
        wiz = screen.decision()
        assert wiz == cli
        text = page_text(screen)
        assert OUTCOME_LABEL[cli["outcome"]] in text
        assert cli["explanation"].strip() in " ".join(text.split("\n")) or cli["explanation"].split(".")[0] in text
        for sec in cli["sections"]:
            assert sec in text
        if cli["outcome"] == "needs_info":
            assert "[i] save and request information" in text
        if cli["chargeback_consequences"]:
            assert "Chargeback filed" in text and cli["chargeback_consequences"][0][:30] in text
        if cli["outcome"] in ("full_refund", "partial_refund") and cli["max_refund"] > 0:
            assert "Processing timeline (if approved now)" in text
        # back walks the same steps in reverse
        await pilot.press("left")
        assert screen.page == len(cli["steps"]) - 1
        assert f"Section {cli['steps'][-1]['section']}" in page_text(screen)


async def test_every_table_case_agrees_with_the_cli(desk, agent):
    """The whole refund table (tests/test_refund_table.py) through one wizard."""
    table = pytest.importorskip("test_refund_table")
    with desk.session() as s:
        refs = []
        for i, (cid, policy, f, *_rest) in enumerate(table.CASES):
            ref = f"RFD-2026-{200 + i:06d}"
            add_case(s, ref, policy, f)
            refs.append((cid, ref, policy, f))
    from screens.refund_wizard import RefundWizardScreen, read_case

    app = app_for(desk, agent, refs[0][1])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for cid, ref, policy, f in refs:
            if (
                not isinstance(app.screen, RefundWizardScreen) or app.screen.reference != ref
            ):  # read first: no worker round trip
                await app.push_screen(RefundWizardScreen(ref, case=read_case(desk, ref, app.now(), app.calendar.tz)))
            screen = app.screen
            while not screen.on_decision_page:  # the forward action, without a key round trip each
                screen.action_forward()
            assert screen.decision() == decide(policy, f), cid
            app.pop_screen()


async def test_every_label_variant_agrees_with_the_cli(desk, agent):
    """Each table case under every plausible label (issue 17): the wizard's
    own walk over the facts gives the CLI's decision and the case's outcome."""
    table = pytest.importorskip("test_refund_table")
    ref = "RFD-2026-000190"
    with desk.session() as s:
        add_case(s, ref, "esimium", facts(reason="other"))
    app = app_for(desk, agent, ref)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        for vid, policy, f, outcome in table.ALL_VARIANTS:
            screen.policy, screen.facts, screen.page = policy, dict(f), 0
            screen.rewalk()
            wiz = screen.decision()
            assert wiz == decide(policy, f), vid
            assert wiz["outcome"] == outcome, vid


async def test_wizard_follows_the_desks_preactivation_rule(desk, agent):
    from dataclasses import replace

    from app.config import RefundsConfig

    ref = "RFD-2026-000191"
    with desk.session() as s:
        add_case(s, ref, "esimium", facts(reason="no_longer_needed"))
    app = app_for(desk, agent, ref)
    app.config = replace(app.config, refunds=RefundsConfig(esimium_preactivation="case_by_case"))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        await walk_to_decision(pilot)
        d = screen.decision()
        assert d["outcome"] == "case_by_case" and d["sections"][:2] == ["2.1", "3.2"]
        text = page_text(screen)
        assert "2.1" in text and "3.2" in text


async def test_unknown_fact_answered_in_the_wizard_continues_the_walk(desk, agent):
    ref = "RFD-2026-000102"
    f = facts(reason="force_majeure", activated=True)
    app = wizard_for(desk, agent, ref, "esimium", f)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        await to_first_unknown(pilot, screen)
        text = page_text(screen)
        assert "Not known yet: documents supplied. Has the customer supplied" in text and "[1] Yes" in text
        await pilot.press("1")  # Yes: documents supplied
        assert screen.facts["documentation_provided"] is True
        await walk_to_decision(pilot)
        assert screen.decision() == decide("esimium", {**f, "documentation_provided": True})
        assert screen.decision()["outcome"] == "case_by_case"


async def test_needs_info_ends_with_information_request_that_pauses(desk, agent):
    ref = "RFD-2026-000103"
    app = wizard_for(desk, agent, ref, "esimium", facts(reason="force_majeure", activated=True))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await walk_to_decision(pilot)
        await _press_and_wait(pilot, "i")
        assert "information requested" in app.screen.status_line
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert t.paused_since == NOW and t.status == "under_review"
        assert [e.action for e in history.events(s, t.id)][-2:] == ["facts", "pause"]
        msg = s.scalars(select(Message).where(Message.ticket_id == t.id, Message.kind == "outbound")).one()
        assert "supporting documents" in msg.body


async def test_save_then_approve_from_the_wizard(desk, agent):
    ref = "RFD-2026-000104"
    f = facts(reason="billing_error")
    app = wizard_for(desk, agent, ref, "esimium", f)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await walk_to_decision(pilot)
        assert "[a] approve" not in page_text(app.screen)  # not saved yet
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.view.ticket.status == "decided"
        assert "[a] approve" in page_text(app.screen)
        await _press_and_wait(pilot, "a")
        assert "(approved Mon 09 Mar 2026)" in page_text(app.screen), page_text(app.screen)
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        c = s.scalars(select(RefundCase).where(RefundCase.ticket_id == t.id)).one()
        assert json.loads(c.decision) == decide("esimium", f)
        assert c.approved_at == NOW and t.due_clock == "refund_initiation"
        assert [e.action for e in history.events(s, t.id)][-2:] == ["decided", "approved"]


async def test_stale_save_is_refused_and_reloads(desk, agent):
    ref = "RFD-2026-000105"
    app = wizard_for(desk, agent, ref, "esimium", facts(reason="billing_error"))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await walk_to_decision(pilot)
        with desk.session() as s:  # a colleague changes the ticket meanwhile
            t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
            t.version, t.updated_by = t.version + 1, "bob"
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "changed by bob" in app.screen.status_line
        assert app.screen.version == 2  # reloaded
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert t.status == "submitted"


async def test_reason_chosen_first_when_not_classified(desk, agent):
    ref = "RFD-2026-000106"
    app = wizard_for(desk, agent, ref, "esimium", None)  # only the order's facts
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.needs_reason and "Reason" in page_text(screen)
        for _ in range(3):  # non_delivery, technical_failure, service_unavailable, duplicate_charge
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.facts["reason"] == "duplicate_charge"
        await walk_to_decision(pilot)
        d = screen.decision()
        assert d == decide("esimium", screen.facts) and d["outcome"] == "full_refund"
        assert screen.facts["amount_paid"] == 20.0  # prefilled from the order


async def test_partial_amount_typed_in(desk, agent):
    ref = "RFD-2026-000107"
    f = facts(reason="other", alternative="partial_refund")
    app = wizard_for(desk, agent, ref, "esimium", f)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        await to_first_unknown(pilot, screen)
        assert app.focused is screen.query_one("#fact-input")
        await pilot.press("9", "9", "enter")  # more than paid: refused
        await pilot.pause()
        assert screen.facts.get("partial_amount") is None
        screen.query_one("#fact-input").value = ""
        await pilot.press("5", ".", "5", "enter")
        await pilot.pause()
        assert screen.facts["partial_amount"] == 5.5
        await walk_to_decision(pilot)
        assert screen.decision() == decide("esimium", {**f, "partial_amount": 5.5})


async def test_hostile_customer_name_is_inert(desk, agent):
    ref = "RFD-2026-000108"
    app = wizard_for(
        desk,
        agent,
        ref,
        "esimium",
        facts(reason="billing_error"),
        name="[bold red]Mallory[/] \x1b[2J\x1b]52;c;cHdu\x07x",
    )
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        header = str(app.screen.query_one("#wizard-header").render())
        assert "[bold red]Mallory[/]" in header and "\x1b" not in header and "52;c" not in header


async def _press_and_wait(pilot, key: str) -> None:
    """Press `key`; confirm when the wizard asks first (mail preview / confirmation)."""
    from screens.confirm import ConfirmScreen

    await pilot.press(key)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    if isinstance(pilot.app.screen, ConfirmScreen):
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def test_full_money_path_from_the_wizard(desk, agent):
    """save -> approve -> mark initiated -> complete, each key only when legal."""
    ref = "RFD-2026-000109"
    app = wizard_for(desk, agent, ref, "esimium", facts(reason="duplicate_charge"))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.available_keys() == []  # step pages offer no service
        await walk_to_decision(pilot)
        assert screen.available_keys() == ["s", "left", "escape"]
        await _press_and_wait(pilot, "m")  # not legal yet: nothing happens
        assert screen.view.ticket.status == "submitted"
        for key, status in (("s", "decided"), ("a", "decided"), ("m", "processing"), ("c", "closed")):
            await _press_and_wait(pilot, key)
            assert screen.view.ticket.status == status, key
        assert "Recorded" in page_text(screen) and screen.available_keys() == ["left", "escape"]
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        templates = [
            m.template for m in s.scalars(select(Message).where(Message.ticket_id == t.id).order_by(Message.id))
        ]
        assert templates == ["refund_approved", "refund_initiated"]
        assert t.close_reason == "refund_completed"


@pytest.mark.parametrize(
    ("case_facts", "key", "reason"),
    [
        (facts(reason="network_coverage", activated=True), "d", "refund_denied"),
        (facts(reason="non_delivery", quantity=10), "r", "referred"),
    ],
)
async def test_deny_and_refer_from_the_wizard(desk, agent, case_facts, key, reason):
    ref = "RFD-2026-000110"
    app = wizard_for(desk, agent, ref, "esimium", case_facts)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await walk_to_decision(pilot)
        await _press_and_wait(pilot, "s")
        assert key in app.screen.available_keys() and "a" not in app.screen.available_keys()
        await _press_and_wait(pilot, key)
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert (t.status, t.close_reason) == ("closed", reason)
        body = s.scalars(select(Message.body).where(Message.ticket_id == t.id)).one()
        assert decide("esimium", case_facts)["explanation"] in body


async def test_invoice_date_typed_in_for_a_disputed_charge(desk, agent):
    ref = "RFD-2026-000111"
    f = facts(reason="billing_error")
    app = wizard_for(desk, agent, ref, "airalo", f)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        await to_first_unknown(pilot, screen)
        assert "Not known yet: invoice received. When did the invoice reach" in page_text(screen)
        await pilot.press(*"yesterday", "enter")  # not a date: refused, nothing changes
        await pilot.pause()
        assert screen.facts.get("invoice_received_at") is None
        screen.query_one("#fact-input").value = "2025-03-11T09:00:00Z"
        await pilot.press("enter")
        await pilot.pause()
        await walk_to_decision(pilot)
        expected = decide("airalo", {**f, "invoice_received_at": "2025-03-11T09:00:00Z"})
        assert screen.decision() == expected and expected["outcome"] == "partial_refund"


async def test_case_by_case_approved_in_the_wizard_with_amount_and_fee(desk, agent):
    """Issue 17 point 7: the approver types the amount and fee (no pauses between keys)."""
    ref = "RFD-2026-000120"
    f = facts(reason="unused_data", activated=True, data_used_mb=800)
    app = wizard_for(desk, agent, ref, "airalo", f)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        await walk_to_decision(pilot)
        assert screen.decision()["outcome"] == "case_by_case"
        await _press_and_wait(pilot, "s")
        assert {"a", "d"} <= set(screen.available_keys())
        await pilot.press("a", *"12.50 2.50")
        await _press_and_wait(pilot, "enter")  # the approval mail is shown first: enter sends it
        assert "Approved" in screen.status_line, screen.status_line
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        c = s.scalars(select(RefundCase).where(RefundCase.ticket_id == t.id)).one()
        assert (str(c.approved_amount), str(c.processing_fee)) == ("12.50", "2.50")
        body = s.scalars(
            select(Message.body).where(Message.ticket_id == t.id, Message.template == "refund_approved")
        ).one()
        assert "Amount: 12.50 EUR" in body and "Processing fee: 2.50 EUR" in body


async def test_case_by_case_denied_in_the_wizard_with_a_reason(desk, agent):
    ref = "RFD-2026-000121"
    app = wizard_for(desk, agent, ref, "airalo", facts(reason="no_longer_needed"))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await walk_to_decision(pilot)
        await _press_and_wait(pilot, "s")
        await pilot.press("d", *"Plans changed after purchase")
        await _press_and_wait(pilot, "enter")  # the denial is shown first: enter sends it
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert (t.status, t.close_reason) == ("closed", "refund_denied")
        body = s.scalars(
            select(Message.body).where(Message.ticket_id == t.id, Message.template == "refund_decision")
        ).one()
        assert "Plans changed after purchase" in body


async def test_acknowledge_from_the_wizard_while_the_24_hour_clock_runs(desk, agent):
    from app.sla_clocks import refund_ack_due

    ref = "RFD-2026-000122"
    with desk.session() as s:
        add_case(s, ref, "esimium", facts(reason="billing_error"))
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        t.ack_due_at = refund_ack_due(CAL, t.received_at)
    app = app_for(desk, agent, ref)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await walk_to_decision(pilot)
        assert app.screen.available_keys()[0] == "n"
        await _press_and_wait(pilot, "n")
        assert "n" not in app.screen.available_keys()
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert t.acknowledged_at == NOW
        assert s.scalars(select(Message.template).where(Message.ticket_id == t.id)).all() == ["refund_acknowledgment"]


async def test_chargeback_outcome_recorded_in_the_wizard(desk, agent):
    """A case waits for its chargeback: the wizard asks for the outcome on the chargeback step."""
    ref = "RFD-2026-000123"
    f = facts(reason="billing_error", chargeback_filed=True)
    app = wizard_for(desk, agent, ref, "esimium", f)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        await walk_to_decision(pilot)
        assert screen.decision()["outcome"] == "investigate" and screen.decision()["waits_for"] == "chargeback_outcome"
        await pilot.press("left")
        assert screen.results[screen.page].step_id == "chargeback"
        assert "withdrew" in page_text(screen)
        await pilot.press("1")  # the customer withdrew it
        assert screen.facts["chargeback_outcome"] == "withdrawn"
        await walk_to_decision(pilot)
        assert screen.decision() == decide("esimium", {**f, "chargeback_outcome": "withdrawn"})
        assert screen.decision()["outcome"] == "full_refund"


async def test_facts_read_are_in_words_and_desk_time(desk, agent):
    """Seen in tmux: "Facts read  reason = unused_data, data_used_mb = 0.0,
    delivered_at = 2026-11-14T14:47:51+00:00": code names and a UTC instant."""
    import re

    f = facts(reason="unused_data", delivered_at="2026-11-14T14:47:51+00:00", data_used_mb=0.0)
    app = wizard_for(desk, agent, "RFD-2026-000130", "esimium", f)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        lines = []
        for _ in range(len(screen.steps)):
            lines += [ln for ln in page_text(screen).splitlines() if ln.startswith("Facts read")]
            if screen.page + 1 >= len(screen.results):
                break
            await pilot.press("right")
            await pilot.pause()
        shown = "\n".join(lines)
        assert "reason: unused data" in shown
        assert "eSIM delivered: Sat 14 Nov 2026 16:47" in shown  # Tallinn, not UTC
        assert "data used: 0 MB" in shown
        assert not re.search(r"_|\d{4}-\d\d-\d\dT|\+00:00| = ", shown), shown
