"""The refund case workflow services on a real SQLite desk."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import history, refund_cases
from app.errors import AccessDenied, IllegalTransition, InputError, StaleTicket
from app.refunds import decide
from models import Message, RefundCase, Ticket
from refund_case_helpers import CAL, RECEIVED, add_refund_ticket, add_staff

REF = "RFD-2026-000001"
NOW = RECEIVED + timedelta(hours=2)


@pytest.fixture
def setup(desk):
    with desk.session() as s:
        actor = add_staff(s)
        add_refund_ticket(s, REF)
    return desk, actor


def version(desk, ref=REF) -> int:
    with desk.reader() as s:
        return s.scalars(select(Ticket.version).where(Ticket.reference == ref)).one()


def ticket(desk, ref=REF) -> Ticket:
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        s.expunge(t)
        return t


def case(desk, ref=REF) -> RefundCase:
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        c = s.scalars(select(RefundCase).where(RefundCase.ticket_id == t.id)).one()
        s.expunge(c)
        return c


def events(desk, ref=REF):
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        return [(e.action, e.from_status, e.to_status, history.detail_of(e)) for e in history.events(s, t.id)]


def outbound(desk, ref=REF) -> list[Message]:
    with desk.reader() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        rows = list(
            s.scalars(select(Message).where(Message.ticket_id == t.id, Message.kind == "outbound").order_by(Message.id))
        )
        s.expunge_all()
        return rows


def facts_for(desk, **kw) -> dict:
    with desk.reader() as s:
        f = refund_cases.load(s, REF).facts
    f.update(kw)
    return f


def run(desk, fn, *args, **kw):
    with desk.session() as s:
        return fn(s, *args, **kw)


def test_start_review_moves_to_under_review_and_assigns(setup):
    desk, actor = setup
    run(desk, refund_cases.start_review, actor, REF, expected_version=1, now=NOW)
    t = ticket(desk)
    assert (t.status, t.assignee_id, t.version, t.updated_by) == ("under_review", actor.id, 2, "alice")
    assert events(desk)[-1][:3] == ("status", "submitted", "under_review")
    with pytest.raises(IllegalTransition, match="is under_review"):
        run(desk, refund_cases.start_review, actor, REF, expected_version=2, now=NOW)


def test_stale_version_refused_and_nothing_written(setup):
    desk, actor = setup
    run(desk, refund_cases.start_review, actor, REF, expected_version=1, now=NOW)
    with pytest.raises(StaleTicket, match="changed by alice"):
        run(
            desk,
            refund_cases.record_facts,
            actor,
            REF,
            facts_for(desk, reason="non_delivery"),
            expected_version=1,
            now=NOW,
        )
    assert ticket(desk).status == "under_review"


def test_role_is_checked(desk):
    with desk.session() as s:
        senior = add_staff(s, "sofia", "senior")
        add_refund_ticket(s, REF)
    with pytest.raises(AccessDenied, match="sofia \\(senior\\)"):
        run(desk, refund_cases.start_review, senior, REF, expected_version=1, now=NOW)


def test_record_facts_decides_with_the_engine_and_cites_sections(setup):
    desk, actor = setup
    run(desk, refund_cases.start_review, actor, REF, expected_version=1, now=NOW)
    f = facts_for(desk, reason="duplicate_charge")
    d = run(desk, refund_cases.record_facts, actor, REF, f, expected_version=2, now=NOW)
    assert d == decide("esimium", f)
    assert d["outcome"] == "full_refund"
    t, c = ticket(desk), case(desk)
    # the review clock stopped; the decision must reach the customer by the review deadline
    assert (t.status, t.decided_at, t.due_at, t.due_clock) == ("decided", NOW, t.review_due_at, "refund_decision")
    assert c.outcome == "full_refund" and float(c.max_refund) == 20.0 and json.loads(c.decision) == d
    action, frm, to, detail = events(desk)[-1]
    assert (action, frm, to) == ("decided", "under_review", "decided")
    assert detail["sections"] == d["sections"] and detail["sections"][0] == "2.1"


def test_record_facts_rejects_bad_facts_in_one_line(setup):
    desk, actor = setup
    with pytest.raises(InputError, match="reason: required"):
        run(desk, refund_cases.record_facts, actor, REF, facts_for(desk), expected_version=1, now=NOW)
    assert ticket(desk).version == 1


def test_needs_info_request_pauses_and_reply_resumes_with_moved_deadline(setup):
    desk, actor = setup
    f = facts_for(desk, reason="medical_emergency", activated=True)  # documentation_provided unknown
    d = run(desk, refund_cases.record_facts, actor, REF, f, expected_version=1, now=NOW)
    assert d["outcome"] == "needs_info" and d["missing"] == ["documentation_provided"]
    t = ticket(desk)
    assert t.status == "under_review" and t.decided_at is None and t.due_clock == "refund_review"
    original_due = t.review_due_at
    msg = run(desk, refund_cases.request_information, actor, REF, expected_version=t.version, now=NOW)
    assert msg is not None and "supporting documents" in msg.body and REF in msg.subject
    t = ticket(desk)
    assert t.paused_since == NOW
    assert events(desk)[-1][0] == "pause"
    # paused Monday, reply on Thursday: three business days later
    reply_at = NOW + timedelta(days=3)
    new_due = run(desk, refund_cases.customer_replied, None, REF, now=reply_at, cal=CAL)
    t = ticket(desk)
    assert t.paused_since is None
    assert CAL.business_days_between(original_due, new_due) == 3
    assert t.review_due_at == new_due and t.due_at == new_due
    action, _f, _t, detail = events(desk)[-1]
    assert action == "resume" and detail["clock"] == "refund_review"
    # a second reply while running changes nothing
    assert run(desk, refund_cases.customer_replied, None, REF, now=reply_at, cal=CAL) is None


def test_information_request_needs_a_needs_info_decision(setup):
    desk, actor = setup
    run(desk, refund_cases.start_review, actor, REF, expected_version=1, now=NOW)
    with pytest.raises(IllegalTransition, match="needs_info"):
        run(desk, refund_cases.request_information, actor, REF, expected_version=2, now=NOW)


def test_approve_initiate_complete_with_notices_and_clock(setup):
    desk, actor = setup
    d = run(
        desk,
        refund_cases.record_facts,
        actor,
        REF,
        facts_for(desk, reason="non_delivery", delivered_at=None),
        expected_version=1,
        now=NOW,
    )
    assert d["outcome"] == "full_refund"
    ms = run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    t, c = ticket(desk), case(desk)
    assert t.due_clock == "refund_initiation"
    # Monday approval: initiation due end of Wednesday (2 business days), Tallinn
    assert t.due_at == CAL.due_at(NOW, 2)
    assert c.approved_at == NOW and c.initiated_due_at == t.due_at
    assert [m["name"] for m in ms] == ["initiated", "sent_to_processor_done", "in_account"]
    msgs = outbound(desk)
    assert msgs[-1].template == "refund_approved" and "approved" in msgs[-1].body and ms[0]["due_date"] in msgs[-1].body
    with pytest.raises(IllegalTransition, match="already approved"):
        run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    later = NOW + timedelta(days=1)
    run(desk, refund_cases.mark_initiated, actor, REF, expected_version=version(desk), now=later, cal=CAL)
    t, c = ticket(desk), case(desk)
    assert (t.status, t.due_at, t.due_clock, c.initiated_at) == (
        "processing",
        c.expected_in_account_at,
        "refund_in_account",
        later,
    )
    assert outbound(desk)[-1].template == "refund_initiated"
    assert events(desk)[-1][3] == {"milestone": "initiated", "on_time": True}
    run(desk, refund_cases.complete, actor, REF, expected_version=version(desk), now=later + timedelta(days=8))
    t = ticket(desk)
    assert (t.status, t.close_reason) == ("closed", "refund_completed")
    assert case(desk).completed_at == later + timedelta(days=8)


def test_denied_case_cannot_be_approved_and_deny_closes_with_explanation(setup):
    desk, actor = setup
    d = run(
        desk,
        refund_cases.record_facts,
        actor,
        REF,
        facts_for(desk, reason="network_coverage", activated=True),
        expected_version=1,
        now=NOW,
    )
    assert d["outcome"] == "denied"
    with pytest.raises(IllegalTransition, match="denied case cannot be approved"):
        run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    with pytest.raises(IllegalTransition, match="not refer"):
        run(desk, refund_cases.refer, actor, REF, expected_version=version(desk), now=NOW)
    run(desk, refund_cases.deny, actor, REF, expected_version=version(desk), now=NOW)
    t = ticket(desk)
    assert (t.status, t.close_reason) == ("closed", "refund_denied")
    msg = outbound(desk)[-1]
    assert msg.template == "refund_decision" and d["explanation"] in msg.body


def test_refer_bulk_order_to_business_team(desk):
    with desk.session() as s:
        actor = add_staff(s)
        add_refund_ticket(s, REF, quantity=12)
    d = run(
        desk, refund_cases.record_facts, actor, REF, facts_for(desk, reason="non_delivery"), expected_version=1, now=NOW
    )
    assert (d["outcome"], d["refer_to"]) == ("refer", "business_team")
    run(desk, refund_cases.refer, actor, REF, expected_version=version(desk), now=NOW)
    t = ticket(desk)
    assert (t.status, t.close_reason) == ("closed", "referred")
    assert events(desk)[-1][3]["refer_to"] == "business_team"


def test_record_alternative_store_credit_then_complete(setup):
    desk, actor = setup
    d = run(
        desk,
        refund_cases.record_facts,
        actor,
        REF,
        facts_for(desk, reason="no_longer_needed", activated=True),
        expected_version=1,
        now=NOW,
    )
    assert d["outcome"] == "denied"
    d = run(desk, refund_cases.record_alternative, actor, REF, "store_credit", expected_version=version(desk), now=NOW)
    assert d["outcome"] == "store_credit" and d["store_credit_min"] == 20
    assert case(desk).alternative == "store_credit"
    run(desk, refund_cases.complete, actor, REF, expected_version=version(desk), now=NOW)
    assert ticket(desk).close_reason == "refund_completed"


def test_record_alternative_partial_refund_amount_capped_and_approvable(setup):
    desk, actor = setup
    run(
        desk,
        refund_cases.record_facts,
        actor,
        REF,
        facts_for(desk, reason="technical_failure", activated=True),
        expected_version=1,
        now=NOW,
    )
    v = version(desk)
    with pytest.raises(InputError, match="partial_amount: more than amount_paid"):
        run(
            desk,
            refund_cases.record_alternative,
            actor,
            REF,
            "partial_refund",
            partial_amount=25.0,
            expected_version=v,
            now=NOW,
        )
    with pytest.raises(InputError, match="unknown alternative"):
        run(desk, refund_cases.record_alternative, actor, REF, "cash", expected_version=v, now=NOW)
    d = run(
        desk,
        refund_cases.record_alternative,
        actor,
        REF,
        "partial_refund",
        partial_amount=7.5,
        expected_version=v,
        now=NOW,
    )
    assert d["outcome"] == "partial_refund" and d["max_refund"] == 7.5
    run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    assert "7.50 EUR" in outbound(desk)[-1].body


def test_facts_frozen_after_approval(setup):
    desk, actor = setup
    run(
        desk,
        refund_cases.record_facts,
        actor,
        REF,
        facts_for(desk, reason="duplicate_charge"),
        expected_version=1,
        now=NOW,
    )
    run(desk, refund_cases.approve, actor, REF, expected_version=version(desk), now=NOW, cal=CAL)
    with pytest.raises(IllegalTransition, match="can no longer change"):
        run(
            desk,
            refund_cases.record_facts,
            actor,
            REF,
            facts_for(desk, reason="other"),
            expected_version=version(desk),
            now=NOW,
        )


def test_no_email_means_no_message_but_still_pauses(desk):
    with desk.session() as s:
        actor = add_staff(s)
        add_refund_ticket(s, REF, email=None)
    run(
        desk,
        refund_cases.record_facts,
        actor,
        REF,
        facts_for(desk, reason="force_majeure", activated=True),
        expected_version=1,
        now=NOW,
    )
    assert run(desk, refund_cases.request_information, actor, REF, expected_version=version(desk), now=NOW) is None
    assert ticket(desk).paused_since == NOW


def test_not_a_refund_ticket(setup):
    desk, actor = setup
    with desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.reference == REF)).one()
        t.kind = "complaint"
    with pytest.raises(IllegalTransition, match="not a refund case"):
        run(desk, refund_cases.start_review, actor, REF, expected_version=1, now=NOW)


def test_load_prefills_from_order(setup):
    desk, _actor = setup
    with desk.reader() as s:
        view = refund_cases.load(s, REF)
    assert view.facts["amount_paid"] == 20.0 and view.facts["currency"] == "EUR"
    assert view.facts["request_at"].startswith("2026-03-09T08:00")
    assert "reason" not in view.facts and view.case.policy == "esimium" and view.customer_name == "Maria Tamm"


def test_facts_recorded_while_waiting_resume_the_clock_first(setup):
    desk, actor = setup
    f = facts_for(desk, reason="medical_emergency", activated=True)
    run(desk, refund_cases.record_facts, actor, REF, f, expected_version=1, now=NOW)
    run(desk, refund_cases.request_information, actor, REF, expected_version=version(desk), now=NOW)
    later = NOW + timedelta(days=1)
    d = run(
        desk,
        refund_cases.record_facts,
        actor,
        REF,
        {**f, "documentation_provided": True},
        expected_version=version(desk),
        now=later,
        cal=CAL,
    )
    assert d["outcome"] == "case_by_case"
    t = ticket(desk)
    assert t.paused_since is None and t.status == "decided"
    actions = [e[0] for e in events(desk)]
    assert actions[-3:] == ["pause", "resume", "decided"]
    # re-deciding before approval is allowed (alternative accepted later)
    d2 = run(
        desk,
        refund_cases.record_facts,
        actor,
        REF,
        {**f, "documentation_provided": False},
        expected_version=version(desk),
        now=later,
        cal=CAL,
    )
    assert d2["outcome"] == "denied" and events(desk)[-1][1:3] == ("decided", "decided")


def test_second_information_request_keeps_the_first_pause(setup):
    desk, actor = setup
    f = facts_for(desk, reason="force_majeure", activated=True)
    run(desk, refund_cases.record_facts, actor, REF, f, expected_version=1, now=NOW)
    run(desk, refund_cases.request_information, actor, REF, expected_version=version(desk), now=NOW)
    later = NOW + timedelta(days=2)
    # still unknown after saving again: the clock stays paused from the first request
    run(desk, refund_cases.record_facts, actor, REF, f, expected_version=version(desk), now=later)
    assert ticket(desk).paused_since == NOW
    run(desk, refund_cases.request_information, actor, REF, expected_version=version(desk), now=later)
    assert ticket(desk).paused_since == NOW
    assert events(desk)[-1][0] == "information_requested"
    assert len(outbound(desk)) == 2
