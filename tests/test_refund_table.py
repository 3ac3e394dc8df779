"""The refund case table: every section of both policies, the decisive section
and outcome of each case, and the window edges (with time zones)."""

from __future__ import annotations

import pytest

from app.errors import InputError
from app.refunds import Rules, decide, policy_steps, section_numbers, walk

P = "2025-03-10T09:00:00Z"  # purchase
R = "2025-03-12T09:00:00Z"  # request, 2 days later


def facts(**kw):
    base = {"purchase_at": P, "request_at": R, "amount_paid": 20.0, "currency": "EUR", "reason": "other"}
    base.update(kw)
    return base


TECH_OK = {"provider_fault_confirmed": True, "instructions_followed": True, "troubleshooting_completed": True}

EXCEPTIONAL = ["medical_emergency", "travel_restriction", "force_majeure", "service_outage"]
# a stated expiry is the customer's statement of that fact (engine.LABEL_IMPLIES)
LABEL_STATES_FACT = [
    ("validity_expired", {"validity_expired": True}),
    ("activation_window_missed", {"validity_expired": True}),
]

# (id, policy, facts, expected outcome, decisive section (sections[0]), extra expectations)
TECH_ACT = {**TECH_OK, "installed": True, "activated": True}
# plausible labels for the same facts (issue 17: the reason is the customer's
# claim; the same facts give the same outcome under any label that fits)
PRE_ACTIVATION = [
    "cancel_before_activation",
    "no_longer_needed",
    "wrong_purchase",
    "accidental_purchase",
    "plan_change",
    "device_incompatible",
    "installation_error",
    "medical_emergency",
    "travel_restriction",
    "force_majeure",
    "other",
]
ACTIVATED = [
    "no_longer_needed",
    "changed_plans",
    "unused_data",
    "network_coverage",
    "network_speed",
    "roaming_limitation",
    "wrong_purchase",
    "device_incompatible",
    "other",
    "cancel_before_activation",
]
EXPIRED = ["validity_expired", "activation_window_missed", "unused_data", "no_longer_needed", "other"]
SELLER_TECH = [
    "technical_failure",
    "service_unavailable",
    "installation_error",
    "other",
    "cancel_before_activation",
    "no_longer_needed",
]
AIRALO_FAULT = [
    "technical_failure",
    "service_unavailable",
    "service_outage",
    "installation_error",
    "other",
    "unused_data",
    "network_coverage",
    "no_longer_needed",
]
AIRALO_OTHER = [
    "other",
    "no_longer_needed",
    "cancel_before_activation",
    "changed_plans",
    "network_coverage",
    "network_speed",
    "roaming_limitation",
    "device_incompatible",
]

EXCEPTIONAL = ["medical_emergency", "travel_restriction", "force_majeure", "service_outage"]
# a stated expiry is the customer's statement of that fact (engine.LABEL_IMPLIES)
LABEL_STATES_FACT = [
    ("validity_expired", {"validity_expired": True}),
    ("activation_window_missed", {"validity_expired": True}),
]

# (id, policy, facts, expected outcome, decisive section (sections[0]), extra expectations)
CASES = [
    # ---- esimium ---------------------------------------------------------
    (
        "e-bulk-10",
        "esimium",
        facts(reason="non_delivery", quantity=10),
        "refer",
        "8.2",
        {"refer_to": "business_team", "max_refund": 0},
    ),
    (
        "e-corporate",
        "esimium",
        facts(reason="non_delivery", customer_type="business"),
        "refer",
        "8.2",
        {"refer_to": "business_team"},
    ),
    ("e-bulk-9-is-normal", "esimium", facts(reason="non_delivery", quantity=9), "full_refund", "2.1", {}),
    (
        "e-bulk-before-fraud",
        "esimium",
        facts(reason="non_delivery", quantity=50, fraud_evidence=True),
        "refer",
        "8.2",
        {},
    ),
    (
        "e-fraud",
        "esimium",
        facts(reason="non_delivery", fraud_evidence=True),
        "denied",
        "3.5",
        {"max_refund": 0, "refund_method": "none"},
    ),
    ("e-tos", "esimium", facts(reason="technical_failure", tos_violation=True, **TECH_OK), "denied", "3.5", {}),
    # 8.1 reviews an outcome the standard policy does not grant in full
    (
        "e-medical-documented-activated",
        "esimium",
        facts(reason="medical_emergency", documentation_provided=True, activated=True),
        "case_by_case",
        "8.1",
        {"max_refund": 20, "sections": ["8.1", "3.1", "5.2"]},
    ),
    (
        "e-force-majeure-activated-unknown-docs",
        "esimium",
        facts(reason="force_majeure", activated=True),
        "needs_info",
        "8.1",
        {"missing": ["documentation_provided"], "max_refund": 0},
    ),
    (
        "e-travel-restriction-activated-no-docs",
        "esimium",
        facts(reason="travel_restriction", activated=True, documentation_provided=False),
        "denied",
        "3.1",
        {"sections": ["3.1", "8.1"]},
    ),
    (
        "e-outage-documented-late",
        "esimium",
        facts(reason="service_outage", documentation_provided=True, request_at="2025-03-20T09:00:00Z"),
        "case_by_case",
        "8.1",
        {"sections": ["8.1", "2.2", "2.1", "5.2"]},
    ),
    # issue 17: medical emergency, installed, never activated, day 2 -> 2.1 (was denied under 8.1)
    (
        "e-medical-pre-activation",
        "esimium",
        facts(reason="medical_emergency", installed=True),
        "full_refund",
        "2.1",
        {"sections": ["2.1", "2.2", "5.2"]},
    ),
    (
        "e-store-credit",
        "esimium",
        facts(reason="no_longer_needed", alternative="store_credit"),
        "store_credit",
        "6.2",
        {"max_refund": 0, "store_credit_min": 20},
    ),
    (
        "e-partial",
        "esimium",
        facts(reason="technical_failure", activated=True, alternative="partial_refund", partial_amount=7.5),
        "partial_refund",
        "6.1",
        {"max_refund": 7.5, "refund_method": "original_payment"},
    ),
    (
        "e-partial-amount-unknown",
        "esimium",
        facts(reason="other", alternative="partial_refund"),
        "needs_info",
        "4.3",
        {"missing": ["partial_amount"]},
    ),
    (
        "e-replacement-alternative",
        "esimium",
        facts(reason="incorrect_product", alternative="replacement"),
        "replacement",
        "6.3",
        {"max_refund": 0},
    ),
    (
        "e-extended-support",
        "esimium",
        facts(reason="installation_error", alternative="extended_support"),
        "investigate",
        "6.4",
        {},
    ),
    (
        "e-unauthorized",
        "esimium",
        facts(reason="unauthorized_purchase"),
        "investigate",
        "7.1",
        {"waits_for": "investigation_finding"},
    ),
    # activated: 3.1 decides, whatever the label; the label's own exclusion is cited after it
    (
        "e-coverage-activated",
        "esimium",
        facts(reason="network_coverage", activated=True),
        "denied",
        "3.1",
        {"sections": ["3.1", "3.4"]},
    ),
    (
        "e-speed-data-used",
        "esimium",
        facts(reason="network_speed", data_used_mb=120),
        "denied",
        "3.1",
        {"sections": ["3.1", "3.4"]},
    ),
    (
        "e-no-longer-needed-activated",
        "esimium",
        facts(reason="no_longer_needed", activated=True),
        "denied",
        "3.1",
        {"sections": ["3.1", "3.2"]},
    ),
    (
        "e-changed-plans-activated",
        "esimium",
        facts(reason="changed_plans", activated=True),
        "denied",
        "3.1",
        {"sections": ["3.1", "3.2"]},
    ),
    # issue 17: 800 MB used, asking for the unused portion -> 3.1 (Partial Usage), not 3.3
    (
        "e-partial-usage",
        "esimium",
        facts(reason="unused_data", activated=True, data_used_mb=800),
        "denied",
        "3.1",
        {"sections": ["3.1", "3.3"]},
    ),
    (
        "e-cancel-activated",
        "esimium",
        facts(reason="cancel_before_activation", installed=True, activated=True),
        "denied",
        "3.1",
        {},
    ),
    ("e-cancel-data-used", "esimium", facts(reason="cancel_before_activation", data_used_mb=0.5), "denied", "3.1", {}),
    # before activation, within 7 days: 2.1 as it reads (the 2.1/3.2 contradiction is cited)
    (
        "e-no-longer-needed",
        "esimium",
        facts(reason="no_longer_needed"),
        "full_refund",
        "2.1",
        {"sections": ["2.1", "2.2", "5.2", "3.2"]},
    ),
    (
        "e-incompatible",
        "esimium",
        facts(reason="device_incompatible"),
        "full_refund",
        "2.1",
        {"sections": ["2.1", "2.2", "5.2", "3.2"]},
    ),
    ("e-changed-plans-before-activation", "esimium", facts(reason="changed_plans"), "full_refund", "2.1", {}),
    (
        "e-cancel-installed-not-activated",
        "esimium",
        facts(reason="cancel_before_activation", installed=True),
        "full_refund",
        "2.1",
        {"sections": ["2.1", "2.2", "5.2"]},
    ),
    ("e-other-pre-activation", "esimium", facts(reason="other"), "full_refund", "2.1", {}),
    ("e-coverage-never-activated", "esimium", facts(reason="network_coverage"), "full_refund", "2.1", {}),
    ("e-validity-expired", "esimium", facts(reason="validity_expired", validity_expired=True), "denied", "3.3", {}),
    ("e-activation-window", "esimium", facts(reason="activation_window_missed"), "denied", "3.3", {}),
    ("e-unused-data-expired", "esimium", facts(reason="unused_data", validity_expired=True), "denied", "3.3", {}),
    (
        "e-cancel-but-expired",
        "esimium",
        facts(reason="cancel_before_activation", validity_expired=True),
        "denied",
        "3.3",
        {},
    ),
    (
        "e-duplicate-even-if-activated",
        "esimium",
        facts(reason="duplicate_charge", activated=True, data_used_mb=300),
        "full_refund",
        "2.1",
        {},
    ),
    (
        "e-billing-error",
        "esimium",
        facts(reason="billing_error"),
        "full_refund",
        "2.1",
        {"sections": ["2.1", "2.2", "5.2"]},
    ),
    (
        "e-billing-error-late",
        "esimium",
        facts(reason="billing_error", request_at="2025-03-18T09:00:00Z"),
        "case_by_case",
        "2.2",
        {},
    ),
    ("e-incorrect-product", "esimium", facts(reason="incorrect_product"), "full_refund", "2.1", {}),
    (
        "e-replacement-defective",
        "esimium",
        facts(reason="replacement_request", provider_fault_confirmed=True),
        "replacement",
        "6.3",
        {"max_refund": 0},
    ),
    (
        "e-replacement-not-defective",
        "esimium",
        facts(reason="replacement_request", provider_fault_confirmed=False),
        "denied",
        "6.3",
        {},
    ),
    (
        "e-replacement-unknown",
        "esimium",
        facts(reason="replacement_request"),
        "needs_info",
        "6.3",
        {"missing": ["provider_fault_confirmed"]},
    ),
    ("e-compensation", "esimium", facts(reason="compensation_claim"), "case_by_case", "6.1", {}),
    (
        "e-non-delivery",
        "esimium",
        facts(reason="non_delivery"),
        "full_refund",
        "2.1",
        {"max_refund": 20, "refund_method": "original_payment", "processing_fee_may_apply": False},
    ),
    (
        "e-late-delivery",
        "esimium",
        facts(reason="non_delivery", delivered_at="2025-03-11T09:01:00Z"),
        "full_refund",
        "2.1",
        {},
    ),
    (
        "e-delivered-in-time-still-cancellable",
        "esimium",
        facts(reason="non_delivery", delivered_at="2025-03-10T10:00:00Z"),
        "full_refund",
        "2.1",
        {},
    ),
    # issue 17: a seller-side technical failure labelled "other" (was denied)
    (
        "e-technical-labelled-other",
        "esimium",
        facts(reason="other", **TECH_OK),
        "full_refund",
        "2.1",
        {"sections": ["2.1", "2.2", "5.2"]},
    ),
    ("e-technical", "esimium", facts(reason="technical_failure", **TECH_OK), "full_refund", "2.1", {}),
    (
        "e-technical-instructions-not-followed",
        "esimium",
        facts(reason="technical_failure", provider_fault_confirmed=True, instructions_followed=False),
        "full_refund",
        "2.1",
        {"sections": ["2.1", "2.2", "5.2", "3.2"]},
    ),
    (
        "e-technical-activated",
        "esimium",
        facts(reason="technical_failure", activated=True, **TECH_OK),
        "denied",
        "3.1",
        {},
    ),
    (
        "e-late-request",
        "esimium",
        facts(reason="incorrect_product", request_at="2025-03-20T09:00:00Z"),
        "case_by_case",
        "2.2",
        {"max_refund": 20},
    ),
    (
        "e-airmoney-paid-still-original",
        "esimium",
        facts(reason="billing_error", payment_method="airmoney"),
        "full_refund",
        "2.1",
        {"refund_method": "original_payment"},
    ),
    # a chargeback waits for its outcome; 7.1/7.2 explained
    (
        "e-chargeback-pending",
        "esimium",
        facts(reason="billing_error", chargeback_filed=True),
        "investigate",
        "7.1",
        {
            "sections": ["7.1", "7.2", "7.3"],
            "max_refund": 0,
            "waits_for": "chargeback_outcome",
            "chargeback_pending": True,
        },
    ),
    (
        "e-chargeback-customer-won",
        "esimium",
        facts(reason="billing_error", chargeback_filed=True, chargeback_outcome="customer_won"),
        "denied",
        "7.3",
        {},
    ),
    (
        "e-chargeback-withdrawn",
        "esimium",
        facts(reason="billing_error", chargeback_filed=True, chargeback_outcome="withdrawn"),
        "full_refund",
        "2.1",
        {"sections": ["2.1", "2.2", "5.2", "7.1", "7.2"], "chargeback_pending": False},
    ),
    (
        "e-reseller-customer-not-routed",
        "esimium",
        facts(reason="non_delivery", customer_type="end_customer"),
        "full_refund",
        "2.1",
        {"refer_to": None},
    ),
    # ---- airalo ----------------------------------------------------------
    (
        "a-reseller",
        "airalo",
        facts(reason="technical_failure", customer_type="end_customer", **TECH_OK),
        "refer",
        "6.1.13",
        {"refer_to": "reseller", "max_refund": 0},
    ),
    (
        "a-reseller-before-fraud",
        "airalo",
        facts(reason="other", customer_type="end_customer", fraud_evidence=True),
        "refer",
        "6.1.13",
        {},
    ),
    ("a-fraud", "airalo", facts(reason="technical_failure", fraud_evidence=True, **TECH_OK), "denied", "6.1.6", {}),
    ("a-terms", "airalo", facts(reason="other", tos_violation=True), "denied", "6.1.6", {}),
    (
        "a-bulk-not-routed",
        "airalo",
        facts(reason="technical_failure", quantity=12, **TECH_OK),
        "full_refund",
        "6.1.2",
        {"refer_to": None},
    ),
    (
        "a-unauthorised",
        "airalo",
        facts(reason="unauthorized_purchase"),
        "investigate",
        "6.1.7",
        {"max_refund": 20, "waits_for": "investigation_finding"},
    ),
    (
        "a-duplicate",
        "airalo",
        facts(reason="duplicate_charge", invoice_received_at="2025-03-11T09:00:00Z"),
        "full_refund",
        "6.1.9",
        {"refund_method": "original_payment"},
    ),
    (
        "a-billing-error",
        "airalo",
        facts(reason="billing_error", invoice_received_at="2025-03-11T09:00:00Z"),
        "partial_refund",
        "6.1.9",
        {"max_refund": 20},
    ),
    (
        "a-billing-late",
        "airalo",
        facts(reason="billing_error", invoice_received_at="2025-03-10T09:00:00Z", request_at="2025-03-23T09:01:00Z"),
        "denied",
        "6.1.9",
        {},
    ),
    (
        "a-billing-unknown-invoice",
        "airalo",
        facts(reason="billing_error"),
        "needs_info",
        "6.1.9",
        {"missing": ["invoice_received_at"]},
    ),
    (
        "a-billing-before-invoice",
        "airalo",
        facts(reason="duplicate_charge", invoice_received_at="2025-03-13T09:00:00Z"),
        "needs_info",
        "6.1.9",
        {"missing": ["invoice_received_at"]},
    ),
    ("a-compensation", "airalo", facts(reason="compensation_claim"), "denied", "6.1.5", {}),
    ("a-modification", "airalo", facts(reason="plan_change"), "denied", "6.2", {}),
    (
        "a-promo-replacement",
        "airalo",
        facts(reason="replacement_request", payment_method="airmoney_promo"),
        "replacement",
        "6.1.10",
        {"max_refund": 0},
    ),
    (
        "a-promo-replacement-late",
        "airalo",
        facts(reason="replacement_request", payment_method="airmoney_promo", request_at="2025-04-10T09:01:00Z"),
        "denied",
        "6.1.10",
        {},
    ),
    (
        "a-replacement-not-promo",
        "airalo",
        facts(reason="replacement_request", payment_method="airmoney"),
        "denied",
        "6.1.10",
        {},
    ),
    (
        "a-validity-expired",
        "airalo",
        facts(reason="technical_failure", validity_expired=True, activated=True, **TECH_OK),
        "denied",
        "6.1.4",
        {"sections": ["6.1.4"]},
    ),
    (
        "a-activation-period-lapsed",
        "airalo",
        facts(reason="activation_window_missed", validity_expired=True),
        "denied",
        "6.1.4",
        {"sections": ["6.1.4", "8"]},
    ),
    # issue 17: unused data after expiry -> 6.1.4, not case-by-case with a fee
    (
        "a-unused-data-expired",
        "airalo",
        facts(reason="unused_data", validity_expired=True, activated=True, data_used_mb=800),
        "denied",
        "6.1.4",
        {"processing_fee_may_apply": False},
    ),
    (
        "a-unused-data-valid",
        "airalo",
        facts(reason="unused_data", activated=True, data_used_mb=800),
        "case_by_case",
        "6.1.11",
        {"processing_fee_may_apply": True},
    ),
    ("a-accidental-installed", "airalo", facts(reason="accidental_purchase", installed=True), "denied", "6.1.8", {}),
    (
        "a-accidental-not-installed",
        "airalo",
        facts(reason="accidental_purchase"),
        "case_by_case",
        "6.1.11",
        {"processing_fee_may_apply": True},
    ),
    (
        "a-incompatible-case-by-case",
        "airalo",
        facts(reason="device_incompatible"),
        "case_by_case",
        "6.1.11",
        {"processing_fee_may_apply": True},
    ),
    (
        "a-technical",
        "airalo",
        facts(reason="technical_failure", **TECH_OK),
        "full_refund",
        "6.1.2",
        {"max_refund": 20, "processing_fee_may_apply": False},
    ),
    (
        "a-technical-no-troubleshooting",
        "airalo",
        facts(reason="technical_failure", provider_fault_confirmed=True, troubleshooting_completed=False),
        "investigate",
        "6.1.2",
        {"waits_for": "troubleshooting"},
    ),
    (
        "a-technical-unknown",
        "airalo",
        facts(reason="service_unavailable", provider_fault_confirmed=True),
        "needs_info",
        "6.1.2",
        {"missing": ["troubleshooting_completed"]},
    ),
    (
        "a-not-airalo-fault",
        "airalo",
        facts(reason="installation_error", provider_fault_confirmed=False, troubleshooting_completed=True),
        "case_by_case",
        "6.1.11",
        {},
    ),
    (
        "a-technical-replacement",
        "airalo",
        facts(reason="technical_failure", alternative="replacement", **TECH_OK),
        "replacement",
        "6",
        {"max_refund": 0},
    ),
    (
        "a-technical-late",
        "airalo",
        facts(reason="technical_failure", request_at="2025-04-15T09:00:00Z", **TECH_OK),
        "denied",
        "6.1.2",
        {},
    ),
    # issue 17: Airalo's fault after activation, troubleshooting done, day 7: section 6 preamble, no fee
    (
        "a-fault-after-activation",
        "airalo",
        facts(reason="technical_failure", request_at="2025-03-17T09:00:00Z", **TECH_ACT),
        "full_refund",
        "6",
        {"sections": ["6", "6.1.2", "6.1.13"], "processing_fee_may_apply": False},
    ),
    (
        "a-fault-after-activation-replacement",
        "airalo",
        facts(reason="replacement_request", request_at="2025-03-17T09:00:00Z", **TECH_ACT),
        "replacement",
        "6",
        {"max_refund": 0},
    ),
    ("a-non-delivery", "airalo", facts(reason="non_delivery"), "full_refund", "6.1.2", {}),
    (
        "a-non-delivery-but-delivered",
        "airalo",
        facts(reason="non_delivery", delivered_at="2025-03-10T09:05:00Z"),
        "case_by_case",
        "6.1.11",
        {},
    ),
    (
        "a-airmoney",
        "airalo",
        facts(reason="technical_failure", payment_method="airmoney", **TECH_OK),
        "full_refund",
        "6.1.2",
        {"refund_method": "airmoney"},
    ),
    (
        "a-business",
        "airalo",
        facts(reason="technical_failure", customer_type="business", payment_method="credit_points", **TECH_OK),
        "full_refund",
        "6.1.2",
        {"refund_method": "credit_points_or_credit_note"},
    ),
    (
        "a-business-card",
        "airalo",
        facts(reason="duplicate_charge", customer_type="business", invoice_received_at=R),
        "full_refund",
        "6.1.9",
        {"refund_method": "credit_points_or_credit_note"},
    ),
    ("a-coverage-case-by-case", "airalo", facts(reason="network_coverage"), "case_by_case", "6.1.11", {}),
    (
        "a-cancel-case-by-case",
        "airalo",
        facts(reason="cancel_before_activation"),
        "case_by_case",
        "6.1.11",
        {"max_refund": 20},
    ),
    (
        "a-other",
        "airalo",
        facts(reason="other", amount_paid=0),
        "case_by_case",
        "6.1.11",
        {"max_refund": 0, "refund_method": "none"},
    ),
    # Airalo's money rules (6.1.12, 6.1.13)
    (
        "a-airmoney-on-business-account",
        "airalo",
        facts(reason="technical_failure", customer_type="business", payment_method="airmoney", **TECH_OK),
        "needs_info",
        "6.1.12.1",
        {"missing": ["customer_type", "payment_method"]},
    ),
    (
        "a-credit-points-on-end-user",
        "airalo",
        facts(reason="technical_failure", payment_method="credit_points", **TECH_OK),
        "needs_info",
        "6.1.12.2",
        {"missing": ["customer_type", "payment_method"]},
    ),
    (
        "a-combined-card-airmoney",
        "airalo",
        facts(reason="technical_failure", airmoney_amount=5.0, **TECH_OK),
        "full_refund",
        "6.1.2",
        {
            "refund_parts": [{"method": "original_payment", "amount": 15}, {"method": "airmoney", "amount": 5}],
            "sections": ["6.1.2", "6", "6.1.12.1.4", "6.1.12.1.7", "6.1.13"],
        },
    ),
    (
        "a-choice-airmoney",
        "airalo",
        facts(reason="technical_failure", refund_to="airmoney", **TECH_OK),
        "full_refund",
        "6.1.2",
        {"refund_method": "airmoney", "refund_choice": "airmoney"},
    ),
    (
        "a-choice-original",
        "airalo",
        facts(reason="technical_failure", refund_to="original_payment", **TECH_OK),
        "full_refund",
        "6.1.2",
        {"refund_method": "original_payment", "refund_choice": "original_payment"},
    ),
    (
        "a-unused-credit-points",
        "airalo",
        facts(reason="unused_credit_points", customer_type="business", payment_method="credit_points"),
        "case_by_case",
        "6.1.12.2.2",
        {"refund_method": "credit_points_or_credit_note", "processing_fee_may_apply": False},
    ),
    ("a-unused-credit-points-end-user", "airalo", facts(reason="unused_credit_points"), "needs_info", "6.1.12.2", {}),
]

# every other plausible label for a case's facts: same outcome (issue 17, point 1)
LABELS: dict[str, list[str]] = {
    "e-medical-pre-activation": PRE_ACTIVATION,
    "e-no-longer-needed": PRE_ACTIVATION,
    "e-incompatible": PRE_ACTIVATION,
    "e-other-pre-activation": PRE_ACTIVATION,
    "e-cancel-installed-not-activated": PRE_ACTIVATION,
    "e-no-longer-needed-activated": ACTIVATED,
    "e-coverage-activated": ACTIVATED,
    "e-changed-plans-activated": ACTIVATED,
    "e-partial-usage": ACTIVATED,
    "e-speed-data-used": ACTIVATED,
    "e-validity-expired": EXPIRED,
    "e-unused-data-expired": EXPIRED,
    "e-technical-labelled-other": SELLER_TECH,
    "e-technical": SELLER_TECH,
    "e-technical-activated": ACTIVATED + ["technical_failure", "service_unavailable"],
    "e-late-request": [r for r in PRE_ACTIVATION if r not in EXCEPTIONAL] + ["technical_failure", "non_delivery"],
    "e-fraud": ["non_delivery", "technical_failure", "other", "no_longer_needed", "billing_error"],
    "e-bulk-10": ["technical_failure", "other", "no_longer_needed", "duplicate_charge"],
    "e-chargeback-pending": ["duplicate_charge", "other", "no_longer_needed", "unauthorized_purchase"],
    "e-duplicate-even-if-activated": ["duplicate_charge", "billing_error"],
    "a-unused-data-expired": EXPIRED + ["network_speed", "technical_failure"],
    "a-activation-period-lapsed": EXPIRED,
    "a-validity-expired": EXPIRED + ["service_unavailable"],
    "a-fault-after-activation": AIRALO_FAULT,
    "a-technical": AIRALO_FAULT,
    "a-unused-data-valid": AIRALO_OTHER + ["unused_data"],
    "a-coverage-case-by-case": AIRALO_OTHER,
    "a-cancel-case-by-case": AIRALO_OTHER,
    "a-not-airalo-fault": AIRALO_OTHER + ["technical_failure", "service_unavailable"],
    "a-reseller": AIRALO_FAULT + ["unauthorized_purchase", "compensation_claim"],
    "a-fraud": AIRALO_FAULT + ["no_longer_needed"],
    "a-airmoney-on-business-account": AIRALO_FAULT,
    "a-combined-card-airmoney": AIRALO_FAULT,
}


def variants():
    """(id, policy, facts, outcome) for every case and each plausible label."""
    out = []
    for cid, pol, f, outcome, _sec, _x in CASES:
        out.append((cid, pol, f, outcome))
        for label in LABELS.get(cid, []):
            if label != f["reason"]:
                out.append((f"{cid}[{label}]", pol, {**f, "reason": label}, outcome))
    return out


ALL_VARIANTS = variants()


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


@pytest.mark.parametrize(("vid", "policy", "f", "outcome"), ALL_VARIANTS, ids=[v[0] for v in ALL_VARIANTS])
def test_same_facts_same_outcome_under_every_plausible_label(vid, policy, f, outcome):
    assert decide(policy, f)["outcome"] == outcome, vid


@pytest.mark.parametrize(("label", "implied"), LABEL_STATES_FACT)
def test_a_stated_expiry_is_the_fact_of_expiry(label, implied):
    for policy in ("esimium", "airalo"):
        assert decide(policy, facts(reason=label)) == decide(policy, facts(reason=label, **implied))


def test_table_has_forty_cases_with_label_variants():
    assert len(CASES) >= 40 and len(ALL_VARIANTS) >= 200


def test_table_size_and_every_decisive_section_is_covered():
    assert len(CASES) >= 40
    for policy in ("esimium", "airalo"):
        decisive_sections = set()
        for step in policy_steps(policy):
            for lead in step.leads.values():
                if not lead.get("next"):
                    decisive_sections.add(lead["cite"][0])
            if any(not lead.get("next") or lead.get("note") for lead in step.leads.values()):
                decisive_sections.add(step.section)  # needs_info / note steps
        covered = set()
        for _cid, pol, f, _o, _s, _x in CASES:
            if pol == policy:
                covered.update(decide(pol, f)["sections"])
        covered_cited = {c[4] for c in CASES if c[1] == policy}
        missing = {s for s in decisive_sections if s not in covered and s not in covered_cited}
        assert not missing, f"{policy}: sections never reached by the table: {sorted(missing)}"


# the desk's other reading of the esimium 2.1/3.2 contradiction
CASE_BY_CASE = Rules(esimium_preactivation="case_by_case")
RULE_CASES = [
    ("no-longer-needed", facts(reason="no_longer_needed"), "case_by_case", ["2.1", "3.2"]),
    ("medical", facts(reason="medical_emergency"), "needs_info", ["8.1"]),
    (
        "medical-documented",
        facts(reason="medical_emergency", documentation_provided=True),
        "case_by_case",
        ["8.1", "2.1", "3.2"],
    ),
    ("seller-technical", facts(reason="other", **TECH_OK), "full_refund", ["2.1", "2.2", "5.2"]),
    ("technical-unknown", facts(reason="technical_failure"), "needs_info", ["2.1"]),
    ("incorrect-product", facts(reason="incorrect_product"), "full_refund", ["2.1", "2.2", "5.2"]),
    ("non-delivery-overdue", facts(reason="non_delivery", delivered_at=None), "full_refund", ["2.1", "2.2", "5.2"]),
    ("activated-unchanged", facts(reason="no_longer_needed", activated=True), "denied", ["3.1", "3.2"]),
]


@pytest.mark.parametrize(("rid", "f", "outcome", "sections"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_esimium_preactivation_case_by_case_rule(rid, f, outcome, sections):
    d = decide("esimium", f, CASE_BY_CASE)
    assert d["outcome"] == outcome, d["steps"][-1]
    assert d["sections"][: len(sections)] == sections
    if outcome == "case_by_case" and rid == "no-longer-needed":
        finding = d["steps"][-1]["finding"]
        assert "2.1" in finding and "3.2" in finding and "case_by_case" in finding


def test_contradiction_2_1_against_3_2_is_said_in_the_steps_under_the_default_rule():
    d = decide("esimium", facts(reason="no_longer_needed"))
    assert d["outcome"] == "full_refund" and "3.2" in d["sections"]
    assert "disagree" in d["steps"][-1]["finding"] and "esimium_preactivation = refund" in d["steps"][-1]["finding"]


def test_every_decisive_answer_of_every_step_is_in_the_table():
    for policy in ("esimium", "airalo"):
        reached = set()
        for _cid, pol, f, _o, _s, _x in CASES:
            if pol == policy:
                for r in walk(pol, f):
                    if r.decisive:
                        reached.add((r.step_id, r.answer))
        if policy == "esimium":
            for _rid, f, _o, _s in RULE_CASES:
                reached.update((r.step_id, r.answer) for r in walk(policy, f, CASE_BY_CASE) if r.decisive)
        wanted = {(st.id, ans) for st in policy_steps(policy) for ans, lead in st.leads.items() if not lead.get("next")}
        assert not wanted - reached, f"{policy}: answers never decisive in the table: {sorted(wanted - reached)}"


def test_label_contradicting_the_facts_is_said_in_the_steps():
    d = decide("esimium", facts(reason="cancel_before_activation", activated=True))
    first = d["steps"][0]
    assert first["answer"] == "contradicts" and "it was activated" in first["finding"]
    assert decide("esimium", facts(reason="cancel_before_activation"))["steps"][0]["answer"] == "fits"
    a = decide("airalo", facts(reason="non_delivery", delivered_at="2025-03-10T09:05:00Z"))
    assert a["steps"][0]["answer"] == "contradicts" and "delivered" in a["steps"][0]["finding"]


def test_chargeback_waits_and_cites_7_1_and_7_2():
    d = decide("esimium", facts(reason="non_delivery", chargeback_filed=True))
    assert d["outcome"] == "investigate" and d["max_refund"] == 0 and d["waits_for"] == "chargeback_outcome"
    assert d["sections"][:3] == ["7.1", "7.2", "7.3"]
    assert "section 7.1" in d["explanation"] and "section 7.2" in d["explanation"]
    assert any("Account Suspension" in c for c in d["chargeback_consequences"])
    assert decide("esimium", facts(reason="non_delivery"))["chargeback_consequences"] == []
    a = decide("airalo", facts(reason="other", chargeback_filed=True))
    assert a["chargeback_consequences"] and a["outcome"] == "case_by_case" and a["chargeback_pending"]


def test_incompatibility_disagreement_each_follows_its_text():
    e = decide("esimium", facts(reason="device_incompatible", activated=True))
    a = decide("airalo", facts(reason="device_incompatible"))
    assert (e["outcome"], e["sections"][:2]) == ("denied", ["3.1", "3.2"])
    assert (a["outcome"], a["sections"][0]) == ("case_by_case", "6.1.11") and "2.5" in a["sections"]


def test_window_length_disagreement_10_days_after_purchase():
    r = "2025-03-20T09:00:00Z"
    e = decide("esimium", facts(reason="technical_failure", request_at=r, **TECH_OK))
    a = decide("airalo", facts(reason="technical_failure", request_at=r, **TECH_OK))
    assert e["outcome"] == "case_by_case" and e["sections"][0] == "2.2"
    assert a["outcome"] == "full_refund"


def test_every_esimium_decision_carries_the_statutory_rights_paragraph():
    for f in (
        facts(reason="other"),
        facts(reason="no_longer_needed", activated=True),
        facts(reason="non_delivery", quantity=10),
    ):
        assert "does not affect your statutory rights" in decide("esimium", f)["statutory_rights"]
    assert decide("airalo", facts(reason="other"))["statutory_rights"] == ""


# ---- windows as worded: calendar dates in the desk's time zone (Europe/Tallinn) --
# These replace the earlier 7 x 24 h / 30 x 24 h / 12 x 24 h expectations (issue 17, point 4).
@pytest.mark.parametrize(
    ("purchase", "req", "outcome"),
    [
        ("2025-03-01T20:00:00+02:00", "2025-03-08T21:00:00+02:00", "full_refund"),  # the example: in time
        ("2025-03-01T20:00:00+02:00", "2025-03-08T23:59:59+02:00", "full_refund"),  # the last instant of 8 March
        ("2025-03-01T20:00:00+02:00", "2025-03-09T00:00:00+02:00", "case_by_case"),  # 9 March
        ("2025-03-01T00:00:00+02:00", "2025-03-08T23:59:00+02:00", "full_refund"),  # bought at the first minute
        (
            "2025-03-01T21:30:00Z",
            "2025-03-08T21:59:00Z",
            "full_refund",
        ),  # 1 March 23:30 local -> through 8 March 23:59 local
        ("2025-03-01T21:30:00Z", "2025-03-08T22:00:00Z", "case_by_case"),  # = 9 March 00:00 local
        ("2025-03-01T22:30:00Z", "2025-03-09T21:00:00Z", "full_refund"),  # bought 2 March 00:30 local: through 9 March
        ("2025-03-28T12:00:00+02:00", "2025-04-04T23:59:00+03:00", "full_refund"),  # across Tallinn's DST change
        ("2025-03-28T12:00:00+02:00", "2025-04-05T00:00:00+03:00", "case_by_case"),
        ("2025-03-10T09:00:00-05:00", "2025-03-17T21:59:00Z", "full_refund"),  # the customer's zone does not matter
    ],
)
def test_esimium_seven_calendar_days(purchase, req, outcome):
    d = decide("esimium", facts(reason="cancel_before_activation", purchase_at=purchase, request_at=req))
    assert d["outcome"] == outcome
    assert d["sections"][0] == ("2.1" if outcome == "full_refund" else "2.2")


def test_window_follows_the_desks_time_zone():
    f = facts(reason="cancel_before_activation", purchase_at="2025-03-01T20:00:00Z", request_at="2025-03-08T23:30:00Z")
    assert decide("esimium", f)["outcome"] == "case_by_case"  # Tallinn: 9 March 01:30
    assert decide("esimium", f, Rules(timezone="America/New_York"))["outcome"] == "full_refund"  # 8 March 18:30


@pytest.mark.parametrize(
    ("req", "delivered", "reason", "outcome"),
    [
        (
            "2025-03-11T09:00:00Z",
            None,
            "non_delivery",
            "full_refund",
        ),  # not yet overdue, still a pre-activation cancellation
        ("2025-03-11T09:01:00Z", None, "non_delivery", "full_refund"),
        ("2025-03-12T09:00:00Z", "2025-03-11T09:00:00Z", "non_delivery", "full_refund"),
    ],
)
def test_esimium_24_hour_delivery_edge(req, delivered, reason, outcome):
    d = decide("esimium", facts(reason=reason, request_at=req, delivered_at=delivered))
    assert d["outcome"] == outcome and d["sections"][0] == "2.1"


def test_esimium_24_hour_delivery_names_the_ground():
    on_time = decide("esimium", facts(reason="non_delivery", delivered_at="2025-03-11T09:00:00Z"), CASE_BY_CASE)
    late = decide("esimium", facts(reason="non_delivery", delivered_at="2025-03-11T09:01:00Z"), CASE_BY_CASE)
    assert on_time["outcome"] == "case_by_case" and late["outcome"] == "full_refund"
    assert "Non-Delivery" in late["steps"][-1]["finding"]


@pytest.mark.parametrize(
    ("req", "outcome"),
    [
        ("2025-03-31T20:59:00Z", "full_refund"),  # bought 1 March (local): through 31 March 23:59 local (+03:00)
        ("2025-03-31T21:00:00Z", "denied"),  # 1 April 00:00 local
    ],
)
def test_airalo_thirty_calendar_days(req, outcome):
    d = decide(
        "airalo", facts(reason="technical_failure", purchase_at="2025-03-01T10:00:00Z", request_at=req, **TECH_OK)
    )
    assert d["outcome"] == outcome and d["sections"][0] == "6.1.2"


@pytest.mark.parametrize(
    ("invoice", "req", "outcome"),
    [
        ("2025-03-10T09:00:00Z", "2025-03-22T21:59:00Z", "full_refund"),  # 12th day, last local minute
        ("2025-03-10T09:00:00Z", "2025-03-22T22:00:00Z", "denied"),  # 23 March local
        ("2025-03-10T23:30:00+02:00", "2025-03-22T09:00:00Z", "full_refund"),
        ("2025-03-09T22:30:00Z", "2025-03-22T21:00:00Z", "full_refund"),  # invoice 10 March 00:30 local
    ],
)
def test_airalo_twelve_days_from_the_invoice(invoice, req, outcome):
    d = decide("airalo", facts(reason="duplicate_charge", invoice_received_at=invoice, request_at=req))
    assert d["outcome"] == outcome and d["sections"][0] == "6.1.9"


@pytest.mark.parametrize(
    ("req", "outcome"),
    [
        ("2025-04-09T20:59:00Z", "replacement"),
        ("2025-04-09T21:00:00Z", "denied"),  # 10 April 00:00 Tallinn (DST)
    ],
)
def test_airalo_promo_replacement_thirty_day_edge(req, outcome):
    d = decide("airalo", facts(reason="replacement_request", payment_method="airmoney_promo", request_at=req))
    assert d["outcome"] == outcome


# ---- versions ------------------------------------------------------------------
def test_version_chosen_by_purchase_date_and_note_before_first():
    a = decide("airalo", facts(reason="other"))
    assert a["policy_version"] == "airalo-2024-06-03" and a["version_note"] is None
    early = decide(
        "airalo", facts(reason="other", purchase_at="2024-06-02T23:59:00Z", request_at="2024-06-05T00:00:00Z")
    )
    assert early["policy_version"] == "airalo-2024-06-03"
    assert "predates" in early["version_note"]
    on_day = decide(
        "airalo", facts(reason="other", purchase_at="2024-06-03T00:00:00Z", request_at="2024-06-05T00:00:00Z")
    )
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
    assert [s.section for s in steps] == ["4.1", "8.2", "3.5"]
    assert [s.decisive for s in steps] == [False, False, True]


def test_customer_choice_against_airmoney_rule_is_said():
    d = decide(
        "airalo", facts(reason="technical_failure", payment_method="airmoney", refund_to="original_payment", **TECH_OK)
    )
    assert d["refund_method"] == "airmoney" and d["refund_choice"] == "original_payment"
    assert "6.1.12.1.7" in d["refund_choice_note"]
    assert (
        decide("airalo", facts(reason="technical_failure", refund_to="airmoney", **TECH_OK))["refund_choice_note"]
        is None
    )
