"""The refund case table: every section of both policies, the decisive section
and outcome of each case, and the window edges (with time zones)."""
from __future__ import annotations

import pytest

from app.errors import InputError
from app.refunds import decide, policy_steps, section_numbers, walk

P = "2025-03-10T09:00:00Z"  # purchase
R = "2025-03-12T09:00:00Z"  # request, 2 days later


def facts(**kw):
    base = {"purchase_at": P, "request_at": R, "amount_paid": 20.0, "currency": "EUR", "reason": "other"}
    base.update(kw)
    return base


TECH_OK = {"provider_fault_confirmed": True, "instructions_followed": True, "troubleshooting_completed": True}

# (id, policy, facts, expected outcome, decisive section (sections[0]), extra expectations)
CASES = [
    # ---- esimium ---------------------------------------------------------
    ("e-bulk-10", "esimium", facts(reason="non_delivery", quantity=10), "refer", "8.2", {"refer_to": "business_team", "max_refund": 0}),
    ("e-corporate", "esimium", facts(reason="non_delivery", customer_type="business"), "refer", "8.2", {"refer_to": "business_team"}),
    ("e-bulk-9-is-normal", "esimium", facts(reason="non_delivery", quantity=9), "full_refund", "2.1", {}),
    ("e-bulk-before-fraud", "esimium", facts(reason="non_delivery", quantity=50, fraud_evidence=True), "refer", "8.2", {}),
    ("e-fraud", "esimium", facts(reason="non_delivery", fraud_evidence=True), "denied", "3.5", {"max_refund": 0, "refund_method": "none"}),
    ("e-tos", "esimium", facts(reason="technical_failure", tos_violation=True, **TECH_OK), "denied", "3.5", {}),
    ("e-medical-documented", "esimium", facts(reason="medical_emergency", documentation_provided=True, activated=True), "case_by_case", "8.1", {"max_refund": 20}),
    ("e-force-majeure-unknown-docs", "esimium", facts(reason="force_majeure"), "needs_info", "8.1", {"missing": ["documentation_provided"], "max_refund": 0}),
    ("e-travel-restriction-no-docs", "esimium", facts(reason="travel_restriction", documentation_provided=False), "denied", "8.1", {}),
    ("e-outage-documented", "esimium", facts(reason="service_outage", documentation_provided=True), "case_by_case", "8.1", {}),
    ("e-store-credit", "esimium", facts(reason="no_longer_needed", alternative="store_credit"), "store_credit", "6.2", {"max_refund": 0, "store_credit_min": 20}),
    ("e-partial", "esimium", facts(reason="technical_failure", activated=True, alternative="partial_refund", partial_amount=7.5), "partial_refund", "6.1", {"max_refund": 7.5, "refund_method": "original_payment"}),
    ("e-partial-amount-unknown", "esimium", facts(reason="other", alternative="partial_refund"), "needs_info", "4.3", {"missing": ["partial_amount"]}),
    ("e-replacement-alternative", "esimium", facts(reason="incorrect_product", alternative="replacement"), "replacement", "6.3", {"max_refund": 0}),
    ("e-extended-support", "esimium", facts(reason="installation_error", alternative="extended_support"), "investigate", "6.4", {}),
    ("e-unauthorized", "esimium", facts(reason="unauthorized_purchase"), "investigate", "7.1", {}),
    ("e-coverage", "esimium", facts(reason="network_coverage"), "denied", "3.4", {}),
    ("e-speed", "esimium", facts(reason="network_speed"), "denied", "3.4", {}),
    ("e-roaming", "esimium", facts(reason="roaming_limitation"), "denied", "3.4", {}),
    ("e-incompatible", "esimium", facts(reason="device_incompatible"), "denied", "3.2", {}),
    ("e-install-error", "esimium", facts(reason="installation_error"), "denied", "3.2", {}),
    ("e-wrong-purchase", "esimium", facts(reason="wrong_purchase"), "denied", "3.2", {}),
    ("e-accidental", "esimium", facts(reason="accidental_purchase"), "denied", "3.2", {}),
    ("e-plan-change", "esimium", facts(reason="plan_change"), "denied", "3.2", {}),
    ("e-no-longer-needed", "esimium", facts(reason="no_longer_needed"), "denied", "3.2", {}),
    ("e-changed-plans-activated", "esimium", facts(reason="changed_plans", activated=True), "denied", "3.2", {}),
    ("e-changed-plans-before-activation", "esimium", facts(reason="changed_plans"), "full_refund", "2.1", {}),
    ("e-validity-expired", "esimium", facts(reason="validity_expired"), "denied", "3.3", {}),
    ("e-activation-window", "esimium", facts(reason="activation_window_missed"), "denied", "3.3", {}),
    ("e-unused-data", "esimium", facts(reason="unused_data"), "denied", "3.3", {}),
    ("e-cancel-but-expired", "esimium", facts(reason="cancel_before_activation", validity_expired=True), "denied", "3.3", {}),
    ("e-cancel-activated", "esimium", facts(reason="cancel_before_activation", installed=True, activated=True), "denied", "3.1", {}),
    ("e-cancel-data-used", "esimium", facts(reason="cancel_before_activation", data_used_mb=0.5), "denied", "3.1", {}),
    ("e-cancel-installed-not-activated", "esimium", facts(reason="cancel_before_activation", installed=True), "full_refund", "2.1", {}),
    ("e-duplicate-even-if-activated", "esimium", facts(reason="duplicate_charge", activated=True, data_used_mb=300), "full_refund", "2.1", {}),
    ("e-billing-error", "esimium", facts(reason="billing_error"), "full_refund", "2.1", {}),
    ("e-incorrect-product", "esimium", facts(reason="incorrect_product"), "full_refund", "2.1", {}),
    ("e-replacement-defective", "esimium", facts(reason="replacement_request", provider_fault_confirmed=True), "replacement", "6.3", {"max_refund": 0}),
    ("e-replacement-not-defective", "esimium", facts(reason="replacement_request", provider_fault_confirmed=False), "denied", "6.3", {}),
    ("e-replacement-unknown", "esimium", facts(reason="replacement_request"), "needs_info", "6.3", {"missing": ["provider_fault_confirmed"]}),
    ("e-compensation", "esimium", facts(reason="compensation_claim"), "case_by_case", "6.1", {}),
    ("e-non-delivery", "esimium", facts(reason="non_delivery"), "full_refund", "2.1", {"max_refund": 20, "refund_method": "original_payment", "processing_fee_may_apply": False}),
    ("e-late-delivery", "esimium", facts(reason="non_delivery", delivered_at="2025-03-11T09:01:00Z"), "full_refund", "2.1", {}),
    ("e-delivered-in-time", "esimium", facts(reason="non_delivery", delivered_at="2025-03-10T10:00:00Z"), "denied", "2.1", {}),
    ("e-non-delivery-too-early", "esimium", facts(reason="non_delivery", request_at="2025-03-10T20:00:00Z"), "investigate", "2.1", {}),
    ("e-technical", "esimium", facts(reason="technical_failure", **TECH_OK), "full_refund", "2.1", {}),
    ("e-technical-instructions-not-followed", "esimium", facts(reason="technical_failure", provider_fault_confirmed=True, instructions_followed=False), "denied", "3.2", {}),
    ("e-technical-not-ours", "esimium", facts(reason="technical_failure", provider_fault_confirmed=False, instructions_followed=True), "denied", "2.1", {}),
    ("e-technical-unknown", "esimium", facts(reason="technical_failure", instructions_followed=True), "needs_info", "2.1", {"missing": ["provider_fault_confirmed"]}),
    ("e-technical-both-unknown", "esimium", facts(reason="technical_failure"), "needs_info", "2.1", {"missing": ["provider_fault_confirmed", "instructions_followed"]}),
    ("e-unavailable", "esimium", facts(reason="service_unavailable", provider_fault_confirmed=True), "full_refund", "2.1", {}),
    ("e-unavailable-unknown", "esimium", facts(reason="service_unavailable"), "needs_info", "2.1", {"missing": ["provider_fault_confirmed"]}),
    ("e-other", "esimium", facts(reason="other"), "denied", "2.1", {}),
    ("e-late-request", "esimium", facts(reason="incorrect_product", request_at="2025-03-20T09:00:00Z"), "case_by_case", "2.2", {"max_refund": 20}),
    ("e-airmoney-paid-still-original", "esimium", facts(reason="billing_error", payment_method="airmoney"), "full_refund", "2.1", {"refund_method": "original_payment"}),
    ("e-chargeback-noted", "esimium", facts(reason="billing_error", chargeback_filed=True), "full_refund", "2.1", {"sections": ["2.1", "2.2", "5.2", "7.2", "7.3"]}),
    ("e-reseller-customer-not-routed", "esimium", facts(reason="non_delivery", customer_type="end_customer"), "full_refund", "2.1", {"refer_to": None}),
    # ---- airalo ----------------------------------------------------------
    ("a-reseller", "airalo", facts(reason="technical_failure", customer_type="end_customer", **TECH_OK), "refer", "6.1.13", {"refer_to": "reseller", "max_refund": 0}),
    ("a-reseller-before-fraud", "airalo", facts(reason="other", customer_type="end_customer", fraud_evidence=True), "refer", "6.1.13", {}),
    ("a-fraud", "airalo", facts(reason="technical_failure", fraud_evidence=True, **TECH_OK), "denied", "6.1.6", {}),
    ("a-terms", "airalo", facts(reason="other", tos_violation=True), "denied", "6.1.6", {}),
    ("a-bulk-not-routed", "airalo", facts(reason="technical_failure", quantity=12, **TECH_OK), "full_refund", "6.1.2", {"refer_to": None}),
    ("a-unauthorised", "airalo", facts(reason="unauthorized_purchase"), "investigate", "6.1.7", {"max_refund": 20}),
    ("a-duplicate", "airalo", facts(reason="duplicate_charge", invoice_received_at="2025-03-11T09:00:00Z"), "full_refund", "6.1.9", {"refund_method": "original_payment"}),
    ("a-billing-error", "airalo", facts(reason="billing_error", invoice_received_at="2025-03-11T09:00:00Z"), "partial_refund", "6.1.9", {"max_refund": 20}),
    ("a-billing-late", "airalo", facts(reason="billing_error", invoice_received_at="2025-03-10T09:00:00Z", request_at="2025-03-22T09:01:00Z"), "denied", "6.1.9", {}),
    ("a-billing-unknown-invoice", "airalo", facts(reason="billing_error"), "needs_info", "6.1.9", {"missing": ["invoice_received_at"]}),
    ("a-billing-before-invoice", "airalo", facts(reason="duplicate_charge", invoice_received_at="2025-03-13T09:00:00Z"), "needs_info", "6.1.9", {"missing": ["invoice_received_at"]}),
    ("a-compensation", "airalo", facts(reason="compensation_claim"), "denied", "6.1.5", {}),
    ("a-modification", "airalo", facts(reason="plan_change"), "denied", "6.2", {}),
    ("a-promo-replacement", "airalo", facts(reason="replacement_request", payment_method="airmoney_promo"), "replacement", "6.1.10", {"max_refund": 0}),
    ("a-promo-replacement-late", "airalo", facts(reason="replacement_request", payment_method="airmoney_promo", request_at="2025-04-09T09:01:00Z"), "denied", "6.1.10", {}),
    ("a-replacement-not-promo", "airalo", facts(reason="replacement_request", payment_method="airmoney"), "denied", "6.1.10", {}),
    ("a-validity-expired", "airalo", facts(reason="technical_failure", validity_expired=True, **TECH_OK), "denied", "6.1.4", {}),
    ("a-activation-period-lapsed", "airalo", facts(reason="activation_window_missed"), "denied", "8", {}),
    ("a-unused-data-valid", "airalo", facts(reason="unused_data"), "case_by_case", "6.1.11", {"processing_fee_may_apply": True}),
    ("a-accidental-installed", "airalo", facts(reason="accidental_purchase", installed=True), "denied", "6.1.8", {}),
    ("a-accidental-not-installed", "airalo", facts(reason="accidental_purchase"), "case_by_case", "6.1.11", {"processing_fee_may_apply": True}),
    ("a-incompatible-case-by-case", "airalo", facts(reason="device_incompatible"), "case_by_case", "6.1.11", {"processing_fee_may_apply": True}),
    ("a-technical", "airalo", facts(reason="technical_failure", **TECH_OK), "full_refund", "6.1.2", {"max_refund": 20, "processing_fee_may_apply": False}),
    ("a-technical-no-troubleshooting", "airalo", facts(reason="technical_failure", provider_fault_confirmed=True, troubleshooting_completed=False), "investigate", "6.1.2", {}),
    ("a-technical-unknown", "airalo", facts(reason="service_unavailable", provider_fault_confirmed=True), "needs_info", "6.1.2", {"missing": ["troubleshooting_completed"]}),
    ("a-not-airalo-fault", "airalo", facts(reason="installation_error", provider_fault_confirmed=False, troubleshooting_completed=True), "denied", "6", {}),
    ("a-technical-replacement", "airalo", facts(reason="technical_failure", alternative="replacement", **TECH_OK), "replacement", "6", {"max_refund": 0}),
    ("a-technical-late", "airalo", facts(reason="technical_failure", request_at="2025-04-15T09:00:00Z", **TECH_OK), "denied", "6.1.2", {}),
    ("a-technical-activated", "airalo", facts(reason="technical_failure", activated=True, **TECH_OK), "case_by_case", "6.1.11", {}),
    ("a-non-delivery", "airalo", facts(reason="non_delivery"), "full_refund", "6.1.2", {}),
    ("a-non-delivery-but-delivered", "airalo", facts(reason="non_delivery", delivered_at="2025-03-10T09:05:00Z"), "case_by_case", "6.1.11", {}),
    ("a-airmoney", "airalo", facts(reason="technical_failure", payment_method="airmoney", **TECH_OK), "full_refund", "6.1.2", {"refund_method": "airmoney"}),
    ("a-business", "airalo", facts(reason="technical_failure", customer_type="business", payment_method="credit_points", **TECH_OK), "full_refund", "6.1.2", {"refund_method": "credit_points_or_credit_note"}),
    ("a-business-card", "airalo", facts(reason="duplicate_charge", customer_type="business", invoice_received_at=R), "full_refund", "6.1.9", {"refund_method": "credit_points_or_credit_note"}),
    ("a-coverage-case-by-case", "airalo", facts(reason="network_coverage"), "case_by_case", "6.1.11", {}),
    ("a-cancel-case-by-case", "airalo", facts(reason="cancel_before_activation"), "case_by_case", "6.1.11", {"max_refund": 20}),
    ("a-other", "airalo", facts(reason="other", amount_paid=0), "case_by_case", "6.1.11", {"max_refund": 0, "refund_method": "none"}),
]


@pytest.mark.parametrize(("case_id", "policy", "f", "outcome", "section", "extra"), CASES, ids=[c[0] for c in CASES])
def test_case_table(case_id, policy, f, outcome, section, extra):
    d = decide(policy, f)
    assert d["outcome"] == outcome, d["steps"][-1]
    assert d["sections"][0] == section
    assert d["steps"][-1]["section"] == section or section in d["sections"]
    for key, want in extra.items():
        assert d[key] == want, (key, d[key])
    assert set(d["sections"]) <= set(section_numbers(policy))
    assert d["explanation"] and "{" not in d["explanation"]


def test_table_size_and_every_decisive_section_is_covered():
    assert len(CASES) >= 40
    for policy in ("esimium", "airalo"):
        decisive_sections = set()
        for step in policy_steps(policy):
            for lead in step.leads.values():
                if not lead.get("next"):
                    decisive_sections.add(lead["cite"][0])
            decisive_sections.add(step.section)  # needs_info / note steps
        covered = set()
        for _cid, pol, f, _o, _s, _x in CASES:
            if pol == policy:
                covered.update(decide(pol, f)["sections"])
        covered_cited = {c[4] for c in CASES if c[1] == policy}
        missing = {s for s in decisive_sections if s not in covered and s not in covered_cited}
        assert not missing, f"{policy}: sections never reached by the table: {sorted(missing)}"


def test_every_decisive_answer_of_every_step_is_in_the_table():
    for policy in ("esimium", "airalo"):
        reached = set()
        for _cid, pol, f, _o, _s, _x in CASES:
            if pol == policy:
                last = walk(pol, f)[-1]
                reached.add((last.step_id, last.answer))
        wanted = {(st.id, ans) for st in policy_steps(policy) for ans, lead in st.leads.items() if not lead.get("next")}
        assert not wanted - reached, f"{policy}: answers never decisive in the table: {sorted(wanted - reached)}"


def test_chargeback_is_noted_not_decisive():
    d = decide("esimium", facts(reason="non_delivery", chargeback_filed=True))
    assert d["outcome"] == "full_refund"
    assert d["sections"][0] == "2.1" and "7.2" in d["sections"] and "7.3" in d["sections"]
    assert any("Account Suspension" in c for c in d["chargeback_consequences"])
    assert decide("esimium", facts(reason="non_delivery"))["chargeback_consequences"] == []
    a = decide("airalo", facts(reason="other", chargeback_filed=True))
    assert a["chargeback_consequences"] and a["outcome"] == "case_by_case"


def test_incompatibility_disagreement_each_follows_its_text():
    e = decide("esimium", facts(reason="device_incompatible"))
    a = decide("airalo", facts(reason="device_incompatible"))
    assert (e["outcome"], e["sections"][0]) == ("denied", "3.2")
    assert (a["outcome"], a["sections"][0]) == ("case_by_case", "6.1.11") and "2.5" in a["sections"]


def test_window_length_disagreement_10_days_after_purchase():
    r = "2025-03-20T09:00:00Z"
    e = decide("esimium", facts(reason="technical_failure", request_at=r, **TECH_OK))
    a = decide("airalo", facts(reason="technical_failure", request_at=r, **TECH_OK))
    assert e["outcome"] == "case_by_case" and e["sections"][0] == "2.2"
    assert a["outcome"] == "full_refund"


# ---- window edges, with time zones ------------------------------------------
@pytest.mark.parametrize(("purchase", "req", "outcome"), [
    ("2025-03-10T09:00:00Z", "2025-03-17T09:00:00Z", "full_refund"),            # exactly 7 days
    ("2025-03-10T09:00:00Z", "2025-03-17T09:01:00Z", "case_by_case"),           # 7 days + 1 minute
    ("2025-03-10T09:00:00Z", "2025-03-17T09:00:00.000001Z", "case_by_case"),    # 7 days + 1 µs
    ("2025-03-10T23:30:00+02:00", "2025-03-17T21:30:00Z", "full_refund"),       # same instant, other zone
    ("2025-03-10T23:30:00+02:00", "2025-03-17T21:31:00Z", "case_by_case"),
    ("2025-03-10T23:30:00+02:00", "2025-03-17T23:30:00", "case_by_case"),       # no offset = UTC: 2 h late
    ("2025-03-10T21:30:00", "2025-03-17T23:30:00+02:00", "full_refund"),        # no offset = UTC: exact
    ("2025-03-28T12:00:00+02:00", "2025-04-04T13:00:00+03:00", "full_refund"),  # across Tallinn DST: exactly 7 x 24 h
    ("2025-03-28T12:00:00+02:00", "2025-04-04T13:01:00+03:00", "case_by_case"),
    ("2025-03-10T09:00:00-05:00", "2025-03-17T14:00:00Z", "full_refund"),
    ("2025-03-10T09:00:00-05:00", "2025-03-17T14:01:00Z", "case_by_case"),
])
def test_esimium_seven_day_edge(purchase, req, outcome):
    d = decide("esimium", facts(reason="cancel_before_activation", purchase_at=purchase, request_at=req))
    assert d["outcome"] == outcome
    assert d["sections"][0] == ("2.1" if outcome == "full_refund" else "2.2")


@pytest.mark.parametrize(("req", "delivered", "outcome"), [
    ("2025-03-11T09:00:00Z", None, "investigate"),             # exactly 24 h, nothing yet: still in time
    ("2025-03-11T09:01:00Z", None, "full_refund"),             # 24 h + 1 min
    ("2025-03-12T09:00:00Z", "2025-03-11T09:00:00Z", "denied"),  # delivered at exactly 24 h
    ("2025-03-12T09:00:00Z", "2025-03-11T11:01:00+02:00", "full_refund"),  # 24 h + 1 min, other zone
])
def test_esimium_24_hour_delivery_edge(req, delivered, outcome):
    d = decide("esimium", facts(reason="non_delivery", request_at=req, delivered_at=delivered))
    assert d["outcome"] == outcome and d["sections"][0] == "2.1"


@pytest.mark.parametrize(("req", "outcome"), [
    ("2025-04-09T09:00:00Z", "full_refund"),     # exactly 30 days
    ("2025-04-09T09:01:00Z", "denied"),          # 30 days + 1 minute
    ("2025-04-09T12:00:00+03:00", "full_refund"),
    ("2025-04-09T12:00:01+03:00", "denied"),
])
def test_airalo_thirty_day_edge(req, outcome):
    d = decide("airalo", facts(reason="technical_failure", request_at=req, **TECH_OK))
    assert d["outcome"] == outcome and d["sections"][0] == "6.1.2"


@pytest.mark.parametrize(("invoice", "req", "outcome"), [
    ("2025-03-10T09:00:00Z", "2025-03-22T09:00:00Z", "full_refund"),       # exactly 12 days
    ("2025-03-10T09:00:00Z", "2025-03-22T09:01:00Z", "denied"),
    ("2025-03-10T11:00:00+02:00", "2025-03-22T09:00:00Z", "full_refund"),
    ("2025-03-10T08:59:00-00:01", "2025-03-22T09:01:00Z", "denied"),       # 09:00Z + 12 d + 1 min
])
def test_airalo_twelve_day_invoice_edge(invoice, req, outcome):
    d = decide("airalo", facts(reason="duplicate_charge", invoice_received_at=invoice, request_at=req))
    assert d["outcome"] == outcome and d["sections"][0] == "6.1.9"


@pytest.mark.parametrize(("req", "outcome"), [
    ("2025-04-09T09:00:00Z", "replacement"), ("2025-04-09T09:01:00Z", "denied"),
])
def test_airalo_promo_replacement_thirty_day_edge(req, outcome):
    d = decide("airalo", facts(reason="replacement_request", payment_method="airmoney_promo", request_at=req))
    assert d["outcome"] == outcome


# ---- versions ------------------------------------------------------------------
def test_version_chosen_by_purchase_date_and_note_before_first():
    a = decide("airalo", facts(reason="other"))
    assert a["policy_version"] == "airalo-2024-06-03" and a["version_note"] is None
    early = decide("airalo", facts(reason="other", purchase_at="2024-06-02T23:59:00Z", request_at="2024-06-05T00:00:00Z"))
    assert early["policy_version"] == "airalo-2024-06-03"
    assert "predates" in early["version_note"]
    on_day = decide("airalo", facts(reason="other", purchase_at="2024-06-03T00:00:00Z", request_at="2024-06-05T00:00:00Z"))
    assert on_day["version_note"] is None
    e = decide("esimium", facts(reason="other", purchase_at="2023-05-01T00:00:00Z", request_at="2023-05-02T00:00:00Z"))
    assert e["policy_version"].startswith("esimium-") and e["version_note"]


def test_alternative_not_in_policy_is_refused():
    with pytest.raises(InputError, match="alternative: 'store_credit' is not offered by the airalo policy"):
        decide("airalo", facts(alternative="store_credit"))


def test_unknown_policy_is_one_line_error():
    with pytest.raises(InputError, match="unknown policy 'acme'"):
        decide("acme", facts())


def test_first_decisive_step_ends_the_walk():
    steps = walk("esimium", facts(reason="non_delivery", fraud_evidence=True))
    assert [s.section for s in steps] == ["8.2", "3.5"]
    assert [s.decisive for s in steps] == [False, True]
