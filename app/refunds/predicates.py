"""Small named predicates the policy data files refer to by name.

Each takes the Facts, the desk's Rules (app/refunds/rules.py) and the step's
`params` from the data file, and returns the answer to the step's question:
one of the step's choice values, or an Answer that also carries a note for
the step's finding and further sections that apply. A needed fact that is
still null raises NeedFacts naming it; the engine turns that into a
`needs_info` outcome. Nothing here knows what an answer leads to: that is in
app/data/policies/*.json.

Facts first (issue 17): the stated reason is the customer's claim, one fact
among others. A predicate answers from the facts wherever facts decide, so
the same facts reach the same answer under any reason label that fits them;
where the label contradicts the facts the answer's note says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.refunds.facts import Facts
from app.refunds.rules import Rules


class NeedFacts(Exception):
    """A fact the step needs is not established yet (null)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = list(names)


@dataclass(frozen=True)
class Answer:
    """A step's answer with a note for its finding and sections that also apply."""

    value: str
    note: str = ""
    cite: tuple[str, ...] = ()


Predicate = Callable[..., "str | Answer"]
PREDICATES: dict[str, Predicate] = {}


def predicate(fn: Predicate) -> Predicate:
    PREDICATES[fn.__name__] = fn
    return fn


def require(facts: Facts, *names: str) -> None:
    missing = [n for n in names if getattr(facts, n) is None]
    if missing:
        raise NeedFacts(missing)


def within(start: datetime, end: datetime, *, days: float = 0, hours: float = 0) -> bool:
    """end is no later than start + the elapsed window (inclusive)."""
    return end - start <= timedelta(days=days, hours=hours)


def used(f: Facts) -> bool:
    return f.activated or f.data_used_mb > 0


def _label(f: Facts) -> str:
    return f.reason.replace("_", " ")


# reasons that claim something the facts can contradict
NOT_ACTIVATED_CLAIMS = ("cancel_before_activation", "activation_window_missed")
NETWORK = ("network_coverage", "network_speed", "roaming_limitation")
TECHNICAL = ("technical_failure", "service_unavailable", "installation_error", "service_outage")
CHARGE = ("duplicate_charge", "billing_error")
EXCEPTIONAL = ("medical_emergency", "force_majeure", "travel_restriction", "service_outage")
# esimium 3.2's user-side grounds
USER_SIDE = (
    "device_incompatible",
    "installation_error",
    "wrong_purchase",
    "changed_plans",
    "no_longer_needed",
    "plan_change",
    "accidental_purchase",
)


def label_contradictions(f: Facts) -> list[str]:
    """Where the stated reason contradicts the recorded facts (said in the steps)."""
    out: list[str] = []
    if f.reason in NOT_ACTIVATED_CLAIMS and used(f):
        out.append(
            f"the stated reason ({_label(f)}) says the eSIM was not activated, but "
            + ("it was activated" if f.activated else f"{f.data_used_mb:g} MB of data were used")
        )
    if f.reason == "non_delivery" and (f.delivered_at is not None or f.installed or used(f)):
        out.append(
            "the stated reason (non delivery) says the eSIM never arrived, but it was "
            + ("delivered" if f.delivered_at is not None else "installed")
        )
    if f.reason in NETWORK and not used(f):
        out.append(f"the stated reason ({_label(f)}) is about the network, but the eSIM was never activated")
    if f.reason == "unused_data" and f.data_used_mb <= 0 and not f.activated:
        out.append(
            "the stated reason (unused data) is a partly used package, but no data was used and the eSIM was never activated"
        )
    if f.reason == "changed_plans" and not used(f):
        out.append(
            "the stated reason (changed plans) is, in esimium 3.2, a change after activation, but the eSIM was never activated"
        )
    return out


# -- routing and exclusions -------------------------------------------------
@predicate
def reason_fits(f: Facts, rules: Rules) -> str | Answer:
    problems = label_contradictions(f)
    if not problems:
        return "fits"
    return Answer("contradicts", "; ".join(problems) + ". The decision follows the facts.")


@predicate
def reason_in(f: Facts, rules: Rules, reasons: list[str]) -> str:
    return "yes" if f.reason in reasons else "no"


@predicate
def bulk_or_corporate(f: Facts, rules: Rules, min_quantity: int = 10) -> str:
    if f.quantity >= min_quantity:
        return "bulk"
    return "corporate" if f.customer_type == "business" else "no"


@predicate
def bought_through_reseller(f: Facts, rules: Rules) -> str:
    return "yes" if f.customer_type == "end_customer" else "no"


@predicate
def fraud_or_terms(f: Facts, rules: Rules) -> str:
    if f.fraud_evidence:
        return "fraud"
    return "terms" if f.tos_violation else "no"


@predicate
def chargeback(f: Facts, rules: Rules) -> str:
    """esimium 7: a filed chargeback waits for its outcome before any refund
    (the bank may return the money itself)."""
    if not f.chargeback_filed:
        return "no"
    if f.chargeback_outcome is None:
        return "pending"
    return "customer_won" if f.chargeback_outcome == "customer_won" else "resolved"


@predicate
def documented_ground(f: Facts, rules: Rules, reasons: list[str]) -> str:
    """A discretionary ground that needs documentation (esimium 8.1)."""
    if f.reason not in reasons:
        return "n/a"
    require(f, "documentation_provided")
    return "documented" if f.documentation_provided else "undocumented"


@predicate
def alternative_accepted(f: Facts, rules: Rules, allowed: list[str]) -> str:
    if f.alternative is None or f.alternative not in allowed:
        return "none"  # the engine refuses alternatives a policy does not offer before walking
    if f.alternative == "partial_refund":
        require(f, "partial_amount")
    return f.alternative


# -- esimium: charge errors, activation, usage, expiry, window, grounds -------
def _also_esimium(f: Facts, *, expiry: bool = True) -> tuple[str, ...]:
    """Further esimium exclusions the stated reason or the facts also meet."""
    out = []
    if f.reason in USER_SIDE or f.instructions_followed is False:
        out.append("3.2")
    if expiry and (f.validity_expired or f.reason in ("unused_data", "activation_window_missed")):
        out.append("3.3")
    if f.reason in NETWORK:
        out.append("3.4")
    return tuple(out)


@predicate
def charge_error(f: Facts, rules: Rules, reasons: list[str], days: int) -> str:
    """esimium 2.1 duplicate charges / billing errors: about the charge, not
    the eSIM, so activation does not bar them; 2.2's window applies."""
    if f.reason not in reasons:
        return "n/a"
    return "within" if rules.within_days(f.purchase_at, f.request_at, days) else "late"


@predicate
def used_or_activated(f: Facts, rules: Rules) -> str | Answer:
    """esimium 3.1: activated, or any data consumed (a request for the unused
    portion is 3.1's "Partial Usage")."""
    also = _also_esimium(f)
    if f.activated:
        return Answer("activated", cite=also)
    if f.data_used_mb > 0:
        return Answer("data_used", cite=also)
    return "no"


@predicate
def expired_unused(f: Facts, rules: Rules) -> str | Answer:
    """esimium 3.3: the validity period ended without activation or use."""
    if f.validity_expired and not used(f):
        return Answer("expired", cite=_also_esimium(f, expiry=False))
    return "no"


@predicate
def within_window(f: Facts, rules: Rules, days: int, start: str = "purchase_at") -> str:
    """Calendar days in the desk's time zone: bought on 1 March, 7 days run
    through 8 March (the request's local date counts, not the hour)."""
    require(f, start)
    return "yes" if rules.within_days(getattr(f, start), f.request_at, days) else "no"


def _esimium_seller_ground(f: Facts, delivery_hours: float) -> str | None:
    """The seller-side 2.1 ground the facts establish (None if none)."""
    if f.reason == "non_delivery" and not f.installed and not used(f):
        late = (f.delivered_at is None and not within(f.purchase_at, f.request_at, hours=delivery_hours)) or (
            f.delivered_at is not None and not within(f.purchase_at, f.delivered_at, hours=delivery_hours)
        )
        if late:
            return "non_delivery"
    if f.provider_fault_confirmed and f.instructions_followed:
        return "technical_failure"
    if f.provider_fault_confirmed and f.reason in ("service_unavailable", *NETWORK):
        return "service_unavailable"
    if f.reason == "incorrect_product":
        return "incorrect_product"
    return None


_GROUND_TEXT = {
    "non_delivery": "Non-Delivery: the eSIM was not delivered within 24 hours of payment",
    "technical_failure": "Technical Failure on our side, installation instructions followed",
    "service_unavailable": "Service Unavailability due to our error",
    "incorrect_product": "Incorrect Product",
}


@predicate
def esimium_preactivation(f: Facts, rules: Rules, delivery_hours: float) -> str | Answer:
    """esimium 2.1 before activation, within 7 days (3.1, 3.3 and 2.2 were asked
    before). A seller-side ground is refunded; any other pre-activation
    cancellation follows the desk's rule for the 2.1/3.2 contradiction."""
    ground = _esimium_seller_ground(f, delivery_hours)
    if ground is not None:
        return Answer("seller_ground", _GROUND_TEXT[ground] + ".")
    user_side = f.reason in USER_SIDE or f.instructions_followed is False
    if rules.esimium_preactivation == "refund":
        if user_side:
            return Answer(
                "cancellation_user_side",
                "2.1 (Pre-Activation Cancellation within 7 days) and 3.2 (user error or responsibility) "
                "disagree here; the desk applies 2.1 as it reads (esimium_preactivation = refund).",
                cite=("3.2",),
            )
        return "cancellation"
    if f.reason in TECHNICAL or f.reason == "non_delivery":
        # a seller-side ground would be refunded; establish it before review
        if f.reason == "non_delivery":
            require(f, "delivered_at")
        else:
            require(f, "provider_fault_confirmed", "instructions_followed")
    return Answer(
        "case_by_case",
        "2.1 (Pre-Activation Cancellation within 7 days) and 3.2 (user error or responsibility) disagree here; "
        "the desk reviews such cancellations case by case (esimium_preactivation = case_by_case).",
    )


@predicate
def esimium_replacement(f: Facts, rules: Rules, reasons: list[str]) -> str:
    """esimium 6.3: a replacement for an eSIM that was defective or incorrect."""
    if f.reason not in reasons:
        return "n/a"
    require(f, "provider_fault_confirmed")
    return "defective" if f.provider_fault_confirmed else "not_defective"


# -- airalo -------------------------------------------------------------------
@predicate
def digital_currency_fits(f: Facts, rules: Rules) -> str:
    """airalo 6.1.12: Airmoney is for end users only, credit points for
    business users only."""
    airmoney = (
        f.payment_method in ("airmoney", "airmoney_promo") or (f.airmoney_amount or 0) > 0 or f.refund_to == "airmoney"
    )
    points = f.payment_method == "credit_points" or f.reason == "unused_credit_points"
    if f.customer_type == "business" and airmoney:
        return "airmoney_business"
    if f.customer_type != "business" and points:
        return "points_end_user"
    return "no"


@predicate
def credit_points_request(f: Facts, rules: Rules) -> str:
    """airalo 6.1.12.2.2: unused credit points are refunded or discussed only
    on a written request (a mail is written)."""
    return "yes" if f.reason == "unused_credit_points" else "no"


@predicate
def invoice_dispute(f: Facts, rules: Rules, reasons: list[str], days: int) -> str:
    """airalo 6.1.9: an incorrect charge notified within N days of the invoice
    (calendar dates in the desk's time zone)."""
    if f.reason not in reasons:
        return "n/a"
    invoice_at = f.invoice_received_at
    if invoice_at is None:
        raise NeedFacts(["invoice_received_at"])
    if f.request_at < invoice_at and rules.local_date(f.request_at) < rules.local_date(invoice_at):
        return "before_invoice"
    if not rules.within_days(invoice_at, f.request_at, days):
        return "late"
    return f.reason


@predicate
def airalo_expired(f: Facts, rules: Rules, exempt: list[str]) -> str:
    """airalo 6.1.4: after the validity period, no refund of any kind (a
    stated reason of expiry is the customer's claim of that fact)."""
    if f.reason in exempt:
        return "no"
    if f.validity_expired:
        return "expired" if used(f) else "expired_unactivated"
    return "no"


@predicate
def promo_replacement(f: Facts, rules: Rules, reasons: list[str], days: int) -> str:
    """airalo 6.1.10: only promo-Airmoney eSIMs, within N days of purchase."""
    if f.reason not in reasons:
        return "n/a"
    if f.payment_method != "airmoney_promo":
        return "not_promo"
    return "within" if rules.within_days(f.purchase_at, f.request_at, days) else "late"


@predicate
def installed_after_accident(f: Facts, rules: Rules, reasons: list[str]) -> str:
    """airalo 6.1.8: an accidental purchase counts as used once installed."""
    if f.reason not in reasons:
        return "n/a"
    return "installed" if (f.installed or used(f)) else "not_installed"


@predicate
def airalo_technical(f: Facts, rules: Rules, reasons: list[str], days: int) -> str | Answer:
    """airalo 6 (preamble: cannot be installed OR USED because of Airalo's
    technical problems: refund or replacement) and 6.1.2 (activation not
    possible, 30 days, after collaborative troubleshooting). Facts first: a
    confirmed Airalo fault applies whatever the stated reason; a stated
    technical reason needs the facts established."""
    wants_replacement = f.alternative == "replacement" or f.reason == "replacement_request"
    if f.reason == "non_delivery" and f.delivered_at is None and not f.installed and not used(f):
        if not rules.within_days(f.purchase_at, f.request_at, days):
            return "late"
        return "eligible_replacement" if wants_replacement else "eligible"
    if not (f.reason in reasons or f.provider_fault_confirmed):
        return "n/a"
    require(f, "provider_fault_confirmed", "troubleshooting_completed")
    if not f.provider_fault_confirmed:
        return Answer("not_airalo_fault", "Not Airalo's technical problem, so section 6 does not apply.")
    if not f.troubleshooting_completed:
        return "not_troubleshot"
    if not rules.within_days(f.purchase_at, f.request_at, days):
        return "late"
    if wants_replacement:
        return "eligible_replacement"
    return "eligible_used" if used(f) else "eligible"


@predicate
def always(f: Facts, rules: Rules) -> str:
    return "yes"


# -- refund method ------------------------------------------------------------
# the methods each rule can pay to (a policy file words every one of them)
RULE_METHODS: dict[str, tuple[str, ...]] = {
    "original_payment": ("original_payment",),
    "digital_currencies": ("original_payment", "airmoney", "credit_points_or_credit_note"),
}


def refund_method_for(rule: str, f: Facts) -> str:
    """Where the money goes, by the policy's rule name in its data file (the
    main part; see refund_parts for a combined payment)."""
    if rule == "original_payment":  # esimium 5.2
        return "original_payment"
    if rule == "digital_currencies":  # airalo 6.1.13, 6.1.12.1.7, 6.1.13.1
        if f.customer_type == "business" or f.payment_method == "credit_points":
            return "credit_points_or_credit_note"
        if f.payment_method in ("airmoney", "airmoney_promo"):
            return "airmoney"
        if f.refund_to == "airmoney":
            return "airmoney"
        return "original_payment"
    raise ValueError(f"unknown refund method rule {rule!r}")


def refund_parts(rule: str, f: Facts, amount: float) -> list[dict[str, Any]]:
    """Each part of the refund back to its own method: a combined card +
    Airmoney payment (airalo 6.1.12.1.4, 6.1.12.1.7) is split in proportion to
    what each method paid; otherwise one part."""
    method = refund_method_for(rule, f)
    am = f.airmoney_amount or 0
    if rule == "digital_currencies" and method == "original_payment" and 0 < am < f.amount_paid and amount > 0:
        air = round(amount * am / f.amount_paid, 2)
        return [{"method": "original_payment", "amount": round(amount - air, 2)}, {"method": "airmoney", "amount": air}]
    return [{"method": method, "amount": amount}]


def method_sections(rule: str, f: Facts, said: dict[str, list[str]] | None = None) -> list[str]:
    """The sections cited for where the money goes: `said` maps a method to
    the sections its policy file names for it (the "original_payment" rule
    cites those; the airalo rule's sections depend on how it was paid)."""
    method = refund_method_for(rule, f)
    if rule == "original_payment":
        return list((said or {}).get(method, ()))
    if method == "credit_points_or_credit_note":
        return ["6.1.13.1"]
    if method == "airmoney":
        return ["6.1.12.1.7"] if f.payment_method in ("airmoney", "airmoney_promo") else ["6.1.13"]
    if 0 < (f.airmoney_amount or 0) < f.amount_paid:
        return ["6.1.12.1.4", "6.1.12.1.7", "6.1.13"]
    return ["6.1.13"]
