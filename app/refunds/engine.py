"""The refund decision engine: walk a policy's steps over the facts; the first
decisive step wins. `decide` is `walk` plus `decision_from_steps`, so the
console wizard (which shows the same StepResults one at a time) and the CLI
can never disagree."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from app.errors import InputError
from app.refunds.facts import Facts, parse_facts
from app.refunds.policies import PolicyVersion, Step, get_version, version_for
from app.refunds.predicates import PREDICATES, Answer, NeedFacts, method_sections, refund_method_for, refund_parts
from app.refunds.rules import DEFAULT_RULES, Rules

REFUNDING = ("full_refund", "partial_refund", "case_by_case", "investigate")
# what each fact means to the customer, for a needs_info explanation
ASK = {
    "documentation_provided": "supporting documents (for example a medical certificate, a notice of the travel restriction, or screenshots)",
    "provider_fault_confirmed": "the result of our check whether the fault is on our side (we may ask you for screenshots of error messages)",
    "instructions_followed": "how the eSIM was installed (screenshots or photos of the installation attempt)",
    "troubleshooting_completed": "a troubleshooting session with you (please send a screenshot of your device settings)",
    "invoice_received_at": "the date you received the invoice, why the amount is wrong and, if possible, the amount you believe you owe",
    "partial_amount": "the agreed amount of the partial refund",
    "delivered_at": "when the eSIM was delivered",
    "chargeback_outcome": "the outcome of the chargeback you filed with your bank or card issuer",
    "customer_type": "whether the purchase was made on a personal (end user) or a business account",
    "payment_method": "how the purchase was paid (card, Airmoney or Airalo credit points)",
}
# a stated reason that is itself the customer's statement of a fact the
# facts' defaults cannot express (validity_expired defaults to false)
LABEL_IMPLIES: dict[str, dict[str, Any]] = {
    "validity_expired": {"validity_expired": True},
    "activation_window_missed": {"validity_expired": True},
}


@dataclass(frozen=True)
class StepResult:
    """One visited step: the answer the facts give and what it means."""

    section: str
    question: str
    answer: str
    finding: str
    decisive: bool
    step_id: str = ""
    missing: tuple[str, ...] = ()
    lead: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, str]:
        return {"section": self.section, "question": self.question, "answer": self.answer, "finding": self.finding}


def effective_facts(f: Facts) -> Facts:
    """The facts the walk reads: the stated reason's implied facts added."""
    implied = {k: v for k, v in LABEL_IMPLIES.get(f.reason, {}).items() if getattr(f, k) != v}
    return replace(f, **implied) if implied else f


def _prepare(policy_id: str, facts: Facts | dict[str, Any]) -> tuple[Facts, PolicyVersion, str | None]:
    f = effective_facts(parse_facts(facts))
    pv, note = version_for(policy_id, f.purchase_at)
    if f.alternative is not None and f.alternative not in pv.allowed_alternatives:
        allowed = ", ".join(pv.allowed_alternatives) or "none"
        raise InputError(
            f"facts: alternative: {f.alternative!r} is not offered by the {policy_id} policy (offered: {allowed})"
        )
    return f, pv, note


def evaluate_step(step: Step, facts: Facts, rules: Rules | None = None) -> StepResult:
    """Answer one step from the facts (the wizard calls this for the current step)."""
    facts = effective_facts(parse_facts(facts))
    try:
        raw = PREDICATES[step.predicate](facts, rules or DEFAULT_RULES, **step.params)
    except NeedFacts as need:
        names = tuple(need.names)
        return StepResult(
            section=step.section,
            question=step.question,
            answer="unknown",
            finding="Not established yet: " + ", ".join(names) + ". Ask the customer or establish it before deciding.",
            decisive=True,
            step_id=step.id,
            missing=names,
            lead={"outcome": "needs_info", "cite": [step.section], "missing": list(names)},
        )
    answer = raw if isinstance(raw, str) else raw.value
    lead = dict(step.leads[answer])
    finding = lead.get("finding", "")
    if isinstance(raw, Answer):
        if raw.note:
            finding = (finding + " " + raw.note).strip()
        if raw.cite:
            lead["cite"] = [*lead.get("cite", [step.section]), *[c for c in raw.cite if c not in lead.get("cite", [])]]
    return StepResult(
        section=step.section,
        question=step.question,
        answer=answer,
        finding=finding,
        decisive=not lead.get("next", False),
        step_id=step.id,
        missing=tuple(lead.get("missing", ())),
        lead=lead,
    )


def walk_steps(
    policy_id: str, facts: Facts | dict[str, Any], rules: Rules | None = None
) -> list[tuple[Step, StepResult]]:
    """(step, result) for each visited step: the main steps up to the first
    decisive one, then a review step (esimium 8.1) when it reviews that
    step's denied or case-by-case outcome and applies. The wizard pages
    through exactly these."""
    f, pv, _note = _prepare(policy_id, facts)
    out: list[tuple[Step, StepResult]] = []
    for step in pv.steps:
        if step.reviews:
            continue
        result = evaluate_step(step, f, rules)
        out.append((step, result))
        if result.decisive:
            break
    last = out[-1][1]
    if last.lead.get("outcome") in ("denied", "case_by_case"):
        for step in pv.steps:
            if last.step_id in step.reviews:
                review = evaluate_step(step, f, rules)
                if review.decisive:
                    out.append((step, review))
                break
    return out


def iter_walk(policy_id: str, facts: Facts | dict[str, Any], rules: Rules | None = None) -> Iterator[StepResult]:
    """Yield the visited steps one at a time (see walk_steps)."""
    for _step, result in walk_steps(policy_id, facts, rules):
        yield result


def walk(policy_id: str, facts: Facts | dict[str, Any], rules: Rules | None = None) -> list[StepResult]:
    return [r for _s, r in walk_steps(policy_id, facts, rules)]


def _num(x: float) -> float | int:
    """The amount as given (never rounded up past what was paid); 20.0 -> 20."""
    return int(x) if float(x).is_integer() else x


def _money(x: float) -> str:
    return f"{x:.2f}" if round(x, 2) == x else repr(float(x))


def _final_lead(last: StepResult, reviewed: StepResult | None) -> dict[str, Any]:
    """The decisive step's lead, with the decisive step it reviews (esimium 8.1) folded in."""
    lead = dict(last.lead)
    if lead.get("keep") and reviewed is not None:  # the review leaves the reviewed outcome standing
        base = dict(reviewed.lead)
        base["explanation"] = (base.get("explanation", "") + " " + lead.get("explanation", "")).strip()
        base["cite"] = [*base.get("cite", [reviewed.section]), *lead.get("cite", [last.section])]
        return base
    if reviewed is not None:
        lead["cite"] = [*lead.get("cite", [last.section]), *reviewed.lead.get("cite", [reviewed.section])]
    return lead


def _max_refund(outcome: str, refund: str, f: Facts) -> float | int:
    """The most that may be refunded: nothing, the partial amount, or what was paid."""
    cap: float
    if outcome == "needs_info" or refund == "none":
        cap = 0
    elif refund == "partial":
        cap = min(f.partial_amount or 0, f.amount_paid)
    else:  # full, cap
        cap = f.amount_paid
    return _num(min(cap, f.amount_paid))


def _sections(pv: PolicyVersion, f: Facts, lead: dict[str, Any], results: list[StepResult], method: str) -> list[str]:
    """The sections a decision cites, once each: its lead's, the refund method's,
    then those of noted findings (chargeback, compatibility)."""
    sections: list[str] = []

    def cite(items: Iterable[str]) -> None:
        for sec in items:
            if sec not in sections:
                sections.append(sec)

    cite(lead.get("cite", [results[-1].section]))
    if method != "none":
        cite(method_sections(pv.refund_method_rule, f, {m: list(w.sections) for m, w in pv.methods.items()}))
    for r in results[:-1]:  # noted findings (chargeback, compatibility) come after
        if r.lead.get("note"):
            cite(r.lead.get("cite", [r.section]))
    return sections


def decision_from_steps(policy_id: str, facts: Facts | dict[str, Any], results: list[StepResult]) -> dict[str, Any]:
    """Build the contract's Decision from a completed walk."""
    f, pv, note = _prepare(policy_id, facts)
    if not results or not results[-1].decisive:
        raise InputError("refund walk not finished: no decisive step yet")
    last = results[-1]
    reviewed = results[-2] if len(results) > 1 and results[-2].decisive else None
    lead = _final_lead(last, reviewed)
    outcome = lead["outcome"]
    max_refund = _max_refund(outcome, lead.get("refund", "none"), f)
    method = refund_method_for(pv.refund_method_rule, f) if (outcome in REFUNDING and max_refund > 0) else "none"
    parts = refund_parts(pv.refund_method_rule, f, max_refund) if method != "none" else []
    sections = _sections(pv, f, lead, results, method)
    values = {
        "amount": _money(max_refund if max_refund else f.amount_paid),
        "credit": _money(f.amount_paid),
        "currency": f.currency,
        "method_text": _method_text(pv, parts) if parts else "",
    }
    explanation = lead.get("explanation", "")
    if outcome == "needs_info" and not explanation:
        wanted = "; ".join(ASK.get(n, n.replace("_", " ")) for n in last.missing)
        explanation = (
            f"To decide on your refund request under our policy (section {last.section}) "
            f"we still need: {wanted}. We will decide as soon as we have it."
        )
    explanation = explanation.format_map(values).replace("  ", " ").replace(" ,", ",").replace(" .", ".")

    decision: dict[str, Any] = {
        "policy": pv.policy,
        "policy_version": pv.version,
        "outcome": outcome,
        "sections": sections,
        "explanation": explanation,
        "steps": [r.as_dict() for r in results],
        "max_refund": max_refund,
        "currency": f.currency,
        "refund_method": method,
        "processing_fee_may_apply": bool(lead.get("fee", False)) and outcome not in ("denied", "refer", "needs_info"),
        "refer_to": lead.get("refer_to") if outcome == "refer" else None,
        "missing": list(lead.get("missing") or last.missing) if outcome == "needs_info" else [],
        # additions (the contract allows more fields)
        "effective_from": pv.effective_from.isoformat(),
        "version_note": note,
        "decisive_step": last.step_id if not last.lead.get("keep") else reviewed.step_id if reviewed else last.step_id,
        "store_credit_min": _num(f.amount_paid) if lead.get("store_credit") else None,
        "chargeback_consequences": list(pv.chargeback_consequences) if f.chargeback_filed else [],
        # each part of the money back to its own method (a combined payment has two)
        "refund_parts": [{"method": p["method"], "amount": _num(p["amount"])} for p in parts],
        # the customer's choice of method (airalo 6.1.13), as recorded; null: not stated
        "refund_choice": f.refund_to,
        "refund_choice_note": _choice_note(pv, f, method),
        # what must be recorded before money may move (the service refuses approval until then)
        "waits_for": lead.get("waits_for") if outcome not in ("denied", "refer", "needs_info") else None,
        "chargeback_pending": bool(f.chargeback_filed and f.chargeback_outcome is None),
        # the paragraph on statutory rights every decision mail of this policy carries
        "statutory_rights": pv.statutory_rights,
    }
    return decision


def _choice_note(pv: PolicyVersion, f: Facts, method: str) -> str | None:
    """Why the money does not go where the customer chose (the method's
    `choice_note` in the policy file: airalo 6.1.12.1.7, 6.1.13.1)."""
    if f.refund_to is None or method in ("none", f.refund_to):
        return None
    words = pv.method_words(method)
    return words.choice_note if words else None


def _method_text(pv: PolicyVersion, parts: list[dict[str, Any]]) -> str:
    """Where the money goes, in the policy file's words for each method."""

    def said(method: str) -> str:
        words = pv.method_words(method)
        return words.decision if words else ""

    if len(parts) == 1:
        return said(parts[0]["method"])
    return "(" + " and ".join(f"{_money(p['amount'])} {said(p['method'])}" for p in parts) + ")"


def decide(policy_id: str, facts: Facts | dict[str, Any], rules: Rules | None = None) -> dict[str, Any]:
    """Decide a refund case: the Decision of the shared refund decision contract,
    under the desk's rules (app/refunds/rules.py; the defaults when None)."""
    f = parse_facts(facts)
    return decision_from_steps(policy_id, f, walk(policy_id, f, rules))


def chargeback_consequences(policy_id: str, version: str | None = None) -> list[str]:
    """What the policy says happens after a chargeback, in its own words."""
    return list(get_version(policy_id, version).chargeback_consequences)
