"""Small named predicates the policy data files refer to by name.

Each takes the Facts (plus the step's `params` from the data file) and returns
the answer to the step's question: one of the step's choice values. A needed
fact that is still null raises NeedFacts naming it; the engine turns that into
a `needs_info` outcome. Nothing here knows what an answer leads to: that is
in app/data/policies/*.json.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from app.refunds.facts import Facts


class NeedFacts(Exception):
    """A fact the step needs is not established yet (null)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


Predicate = Callable[..., str]
PREDICATES: dict[str, Predicate] = {}


def predicate(fn: Predicate) -> Predicate:
    PREDICATES[fn.__name__] = fn
    return fn


def require(facts: Facts, *names: str) -> None:
    missing = [n for n in names if getattr(facts, n) is None]
    if missing:
        raise NeedFacts(missing)


def within(start: datetime, end: datetime, *, days: float = 0, hours: float = 0) -> bool:
    """end is no later than start + the window (inclusive: exactly 7 days is within)."""
    return end - start <= timedelta(days=days, hours=hours)


# -- routing and exclusions -------------------------------------------------
@predicate
def reason_in(f: Facts, reasons: list[str]) -> str:
    return "yes" if f.reason in reasons else "no"


@predicate
def bulk_or_corporate(f: Facts, min_quantity: int = 10) -> str:
    if f.quantity >= min_quantity:
        return "bulk"
    return "corporate" if f.customer_type == "business" else "no"


@predicate
def bought_through_reseller(f: Facts) -> str:
    return "yes" if f.customer_type == "end_customer" else "no"


@predicate
def fraud_or_terms(f: Facts) -> str:
    if f.fraud_evidence:
        return "fraud"
    return "terms" if f.tos_violation else "no"


@predicate
def chargeback(f: Facts) -> str:
    return "yes" if f.chargeback_filed else "no"


@predicate
def documented_ground(f: Facts, reasons: list[str]) -> str:
    """A discretionary ground that needs documentation (esimium 8.1)."""
    if f.reason not in reasons:
        return "n/a"
    require(f, "documentation_provided")
    return "documented" if f.documentation_provided else "undocumented"


@predicate
def alternative_accepted(f: Facts, allowed: list[str]) -> str:
    if f.alternative is None or f.alternative not in allowed:
        return "none"  # the engine refuses alternatives a policy does not offer before walking
    if f.alternative == "partial_refund":
        require(f, "partial_amount")
    return f.alternative


# -- activation, usage, expiry ----------------------------------------------
@predicate
def used_or_activated(f: Facts, exempt: list[str]) -> str:
    """esimium 3.1: activated, or any data consumed. Billing grounds concern the
    charge, not the eSIM, so they are exempt."""
    if f.reason in exempt:
        return "n/a"
    if f.activated:
        return "activated"
    return "data_used" if f.data_used_mb > 0 else "no"


@predicate
def user_error(f: Facts, reasons: list[str], after_activation: list[str]) -> str:
    """esimium 3.2; `after_activation` reasons count only once the eSIM is activated."""
    if f.reason in reasons:
        return f.reason
    if f.reason in after_activation and (f.activated or f.data_used_mb > 0):
        return f.reason
    return "no"


@predicate
def expired(f: Facts, reasons: list[str], exempt: list[str]) -> str:
    if f.reason in reasons:
        return f.reason
    if f.validity_expired and f.reason not in exempt:
        return "validity_expired"
    return "no"


@predicate
def installed_after_accident(f: Facts, reasons: list[str]) -> str:
    """airalo 6.1.8: an accidental purchase counts as used once installed."""
    if f.reason not in reasons:
        return "n/a"
    return "installed" if (f.installed or f.activated or f.data_used_mb > 0) else "not_installed"


# -- windows ----------------------------------------------------------------
@predicate
def within_window(f: Facts, days: float, start: str = "purchase_at") -> str:
    require(f, start)
    return "yes" if within(getattr(f, start), f.request_at, days=days) else "no"


@predicate
def invoice_dispute(f: Facts, reasons: list[str], days: float) -> str:
    """airalo 6.1.9: an incorrect charge notified within N days of the invoice."""
    if f.reason not in reasons:
        return "n/a"
    require(f, "invoice_received_at")
    if not within(f.invoice_received_at, f.request_at, days=days) or f.request_at < f.invoice_received_at:
        return "late" if f.request_at >= f.invoice_received_at else "before_invoice"
    return f.reason


@predicate
def promo_replacement(f: Facts, reasons: list[str], days: float) -> str:
    """airalo 6.1.10: only promo-Airmoney eSIMs, within N days of purchase."""
    if f.reason not in reasons:
        return "n/a"
    if f.payment_method != "airmoney_promo":
        return "not_promo"
    return "within" if within(f.purchase_at, f.request_at, days=days) else "late"


# -- eligibility grounds ----------------------------------------------------
@predicate
def esimium_ground(f: Facts, delivery_hours: float) -> str:
    """esimium 2.1: which full-refund ground holds (or why none does)."""
    r = f.reason
    if r == "non_delivery":
        if f.delivered_at is None:
            return "non_delivery" if not within(f.purchase_at, f.request_at, hours=delivery_hours) else "not_yet_due"
        return "non_delivery" if not within(f.purchase_at, f.delivered_at, hours=delivery_hours) else "delivered_in_time"
    if r == "technical_failure":
        require(f, *[n for n in ("provider_fault_confirmed", "instructions_followed")])
        if not f.instructions_followed:
            return "instructions_not_followed"
        return "technical_failure" if f.provider_fault_confirmed else "not_our_fault"
    if r == "service_unavailable":
        require(f, "provider_fault_confirmed")
        return "service_unavailable" if f.provider_fault_confirmed else "not_our_fault"
    if r in ("duplicate_charge", "billing_error", "incorrect_product"):
        return r
    if r in ("cancel_before_activation", "changed_plans"):
        return "pre_activation_cancellation"  # 3.1/3.2 already caught activation
    return "none"


@predicate
def esimium_replacement(f: Facts, reasons: list[str]) -> str:
    """esimium 6.3: a replacement for an eSIM that was defective or incorrect."""
    if f.reason not in reasons:
        return "n/a"
    require(f, "provider_fault_confirmed")
    return "defective" if f.provider_fault_confirmed else "not_defective"


@predicate
def airalo_technical(f: Facts, reasons: list[str], days: float) -> str:
    """airalo 6 (preamble) and 6.1.2: cannot be installed or used because of
    Airalo's technical problems, after collaborative troubleshooting, asked
    within N days of purchase."""
    if f.reason not in reasons:
        return "n/a"
    late = not within(f.purchase_at, f.request_at, days=days)
    if f.reason == "non_delivery":
        if f.delivered_at is not None:
            return "n/a"
        return "late" if late else "eligible"
    if f.activated:
        return "activated"  # activation was possible: 6.1.2 does not apply
    require(f, "provider_fault_confirmed", "troubleshooting_completed")
    if not f.provider_fault_confirmed:
        return "not_airalo_fault"
    if not f.troubleshooting_completed:
        return "not_troubleshot"
    if late:
        return "late"
    return "eligible_replacement" if f.alternative == "replacement" else "eligible"


@predicate
def always(f: Facts) -> str:
    return "yes"


# -- refund method ----------------------------------------------------------
def refund_method_for(rule: str, f: Facts) -> str:
    """Where the money goes, by the policy's rule name in its data file."""
    if rule == "original_payment":  # esimium 5.2
        return "original_payment"
    if rule == "airalo":  # 6.1.13, 6.1.12.1.7, 6.1.13.1
        if f.customer_type == "business" or f.payment_method == "credit_points":
            return "credit_points_or_credit_note"
        if f.payment_method in ("airmoney", "airmoney_promo"):
            return "airmoney"
        return "original_payment"
    raise ValueError(f"unknown refund method rule {rule!r}")


def method_sections(rule: str, f: Facts) -> list[str]:
    method = refund_method_for(rule, f)
    if rule == "original_payment":
        return ["5.2"]
    return {"credit_points_or_credit_note": ["6.1.13.1"], "airmoney": ["6.1.12.1.7"]}.get(method, ["6.1.13"])
