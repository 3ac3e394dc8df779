"""Properties over random facts: the cap, the citations, and the wizard path
(one step at a time from policy_steps) equals decide()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.refunds import decide, decision_from_steps, parse_facts, section_numbers, walk_steps
from app.refunds.facts import ALTERNATIVES, CUSTOMER_TYPES, PAYMENT_METHODS, REASONS
from app.refunds.policies import OUTCOMES

T0 = datetime(2023, 1, 1, tzinfo=UTC)
opt_bool = st.one_of(st.none(), st.booleans())
offsets = st.sampled_from(["Z", "+02:00", "-05:00", "+05:45", ""])


def iso(dt: datetime, off: str) -> str:
    if off in ("Z", ""):
        return dt.astimezone(UTC).replace(tzinfo=None).isoformat() + off
    sign = 1 if off[0] == "+" else -1
    h, m = int(off[1:3]), int(off[4:6])
    from datetime import timezone

    return dt.astimezone(timezone(sign * timedelta(hours=h, minutes=m))).isoformat()


@st.composite
def facts_dicts(draw):
    purchase = T0 + timedelta(minutes=draw(st.integers(0, 60 * 24 * 1100)))
    request = purchase + timedelta(minutes=draw(st.integers(0, 60 * 24 * 45)))
    amount = draw(st.one_of(st.integers(0, 500), st.floats(0, 1000, allow_nan=False, allow_infinity=False)))
    d = {
        "purchase_at": iso(purchase, draw(offsets)),
        "request_at": iso(request, draw(offsets)),
        "amount_paid": amount,
        "currency": draw(st.sampled_from(["EUR", "USD", "GBP"])),
        "reason": draw(st.sampled_from(REASONS)),
    }
    optional = {
        "payment_method": st.sampled_from(PAYMENT_METHODS),
        "customer_type": st.sampled_from(CUSTOMER_TYPES),
        "quantity": st.integers(1, 30),
        "installed": st.booleans(),
        "activated": st.booleans(),
        "data_used_mb": st.sampled_from([0, 0.01, 500]),
        "validity_expired": st.booleans(),
        "provider_fault_confirmed": opt_bool,
        "instructions_followed": opt_bool,
        "troubleshooting_completed": opt_bool,
        "documentation_provided": opt_bool,
        "fraud_evidence": st.booleans(),
        "tos_violation": st.booleans(),
        "chargeback_filed": st.booleans(),
        "delivered_at": st.one_of(
            st.none(), st.integers(0, 60 * 72).map(lambda m: iso(purchase + timedelta(minutes=m), "Z"))
        ),
        "invoice_received_at": st.one_of(
            st.none(), st.integers(-60 * 24 * 20, 0).map(lambda m: iso(request + timedelta(minutes=m), "+02:00"))
        ),
    }
    for key, strat in optional.items():
        if draw(st.booleans()):
            d[key] = draw(strat)
    return d


def wizard_path(policy: str, facts: dict, rules=None) -> dict:
    """What the console wizard does: page through walk_steps, one step each."""
    results = [r for _step, r in walk_steps(policy, parse_facts(facts), rules)]
    return decision_from_steps(policy, facts, results)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=st.sampled_from(["esimium", "airalo"]),
    facts=facts_dicts(),
    alt=st.one_of(st.none(), st.sampled_from(ALTERNATIVES)),
)
def test_decision_properties(policy, facts, alt):
    if alt is not None and (policy == "esimium" or alt == "replacement"):
        facts = {**facts, "alternative": alt}
        if alt == "partial_refund":
            facts["partial_amount"] = facts["amount_paid"] / 2
    d = decide(policy, facts)
    assert d["outcome"] in OUTCOMES
    assert 0 <= d["max_refund"] <= facts["amount_paid"]
    if d["outcome"] in ("denied", "refer", "needs_info", "replacement", "store_credit"):
        assert d["max_refund"] == 0 and d["refund_method"] == "none"
    assert d["sections"], "every decision cites a section"
    assert set(d["sections"]) <= set(section_numbers(policy))
    assert (d["outcome"] == "needs_info") == bool(d["missing"])
    assert (d["outcome"] == "refer") == (d["refer_to"] is not None)
    for name in d["missing"]:  # a needed fact not known yet, or two facts that contradict each other
        assert facts.get(name) is None or d["decisive_step"] == "currency"
    assert d["currency"] == facts["currency"]
    assert d["steps"] and all(set(s) == {"section", "question", "answer", "finding"} for s in d["steps"])
    assert d == wizard_path(policy, facts)
    assert d == decide(policy, parse_facts(facts).to_dict())  # round-trip of the facts
