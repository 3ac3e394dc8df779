"""One page of the refund wizard: a policy step (section, its words, the
question, the answer choices with the facts' answer marked, the finding), or
the final decision. Pure presentation: the step and its result come from
app.refunds (policy_steps / evaluate_step), never from this module.

Everything is rendered as rich Text built from plain strings (never markup),
so nothing in a policy file or a case can inject styles or actions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.widgets import Static

from app import labels
from app.refunds import Step, StepResult, fact_prompt
from app.refunds.fact_words import fact_label, facts_read
from app.refunds.policies import method_words

OUTCOME_LABEL = {
    "full_refund": "FULL REFUND",
    "partial_refund": "PARTIAL REFUND",
    "replacement": "REPLACEMENT eSIM",
    "store_credit": "STORE CREDIT",
    "case_by_case": "CASE BY CASE",
    "needs_info": "NEEDS INFORMATION",
    "investigate": "INVESTIGATE",
    "refer": "REFER",
    "denied": "DENIED",
}
OUTCOME_STYLE = {
    "full_refund": "bold green",
    "partial_refund": "bold green",
    "replacement": "bold cyan",
    "store_credit": "bold cyan",
    "case_by_case": "bold yellow",
    "needs_info": "bold yellow",
    "investigate": "bold yellow",
    "refer": "bold magenta",
    "denied": "bold red",
}
_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")


def fact_choices(name: str) -> tuple[str, tuple[tuple[Any, str], ...]]:
    """(question, choices) that establish a missing fact (app.refunds.fact_prompt)."""
    return fact_prompt(name)


def step_text(
    step: Step, result: StepResult, *, number: int, facts: dict[str, Any], tz: ZoneInfo | str = "UTC"
) -> Text:
    """The page for one visited step (instants in `tz`, the desk's time zone)."""
    t = Text()
    t.append(f"Step {number}  ", style="dim")
    t.append(f"Section {step.section}", style="bold")
    t.append(f"  {step.title}\n", style="bold")
    t.append(step.text.strip() + "\n\n", style="italic")
    t.append("Question  ", style="bold")
    t.append(step.question + "\n")
    for value, label in step.choices:
        chosen = value == result.answer
        t.append("  ● " if chosen else "  ○ ", style="bold green" if chosen else "dim")
        t.append(label + "\n", style="bold" if chosen else "")
    if result.answer == "unknown":
        t.append("  ? Not established yet\n", style="bold yellow")
    reads = facts_read(step.reads, facts, tz)
    if reads:
        t.append("\nFacts read  ", style="dim")
        t.append(reads + "\n", style="dim")
    t.append("\nFinding  ", style="bold")
    t.append(result.finding + "\n")
    if result.decisive:
        outcome = result.lead.get("outcome", "needs_info")
        t.append("This step decides the case: ", style="bold")
        t.append(OUTCOME_LABEL.get(outcome, outcome), style=OUTCOME_STYLE.get(outcome, "bold"))
        t.append("  (→ decision)\n", style="dim")
    else:
        t.append("Continues to the next section  (→)\n", style="dim")
    for name in result.missing:
        question, choices = fact_choices(name)
        t.append(f"\nNot known yet: {fact_label(name)}. ", style="bold yellow")
        t.append(question + "\n")
        if choices:
            t.append("  " + "   ".join(f"[{i}] {label}" for i, (_v, label) in enumerate(choices, start=1)) + "\n")
        else:
            t.append("  type the value below and press enter\n", style="dim")
    return t


def trail_text(steps: list[Step], results: list[StepResult], current: int) -> Text:
    """The running finding: each visited section up to the current page."""
    t = Text()
    t.append("Running finding\n", style="bold")
    for i, (step, r) in enumerate(zip(steps, results, strict=False)):
        if i > current:
            break
        mark = "▶ " if i == current else "  "
        t.append(mark, style="bold")
        t.append(f"{step.section:<6}", style="bold" if i == current else "")
        label = "Not established yet" if r.answer == "unknown" else dict(step.choices).get(r.answer, r.answer)
        t.append(f" {label}\n", style="bold yellow" if r.answer == "unknown" else "")
    return t


def _when(milestone: dict[str, Any]) -> str:
    """A timeline milestone's day, or its earliest and latest days, in words."""
    when = labels.day(milestone.get("due_date")) or "no stated period"
    if milestone.get("earliest_date") and milestone.get("earliest_date") != milestone.get("due_date"):
        when = f"{labels.day(milestone['earliest_date'])} – {when}"
    return when


def decision_text(
    decision: dict[str, Any],
    *,
    section_titles: dict[str, str],
    timeline: list[dict[str, Any]],
    timeline_note: str,
    actions: list[tuple[str, str]],
    progress: list[tuple[str, str]] = (),
) -> Text:
    """The final page: outcome, cited sections, explanation ready to send,
    processing timeline, chargeback consequences and the actions."""
    outcome = decision["outcome"]
    t = Text()
    t.append("Decision  ", style="bold")
    t.append(f" {OUTCOME_LABEL.get(outcome, outcome)} ", style=OUTCOME_STYLE.get(outcome, "bold") + " reverse")
    t.append(f"   {decision['policy']} policy, version {decision['policy_version']}\n", style="dim")
    if decision.get("version_note"):
        t.append(decision["version_note"] + "\n", style="yellow")
    t.append("\nSections\n", style="bold")
    width = max(8, *(len(s) + 2 for s in decision["sections"]))
    for s in decision["sections"]:
        t.append(f"  {s:<{width}}", style="bold")
        t.append(section_titles.get(s, "") + "\n")
    t.append("\nRefund  ", style="bold")
    if float(decision.get("max_refund") or 0) > 0:
        words = method_words(decision, decision["refund_method"])  # the policy file's words for the method
        t.append(f"up to {float(decision['max_refund']):.2f} {decision['currency']} {words.label if words else ''}")
    else:
        t.append("no money refunded", style="dim")
    if decision.get("store_credit_min"):
        t.append(f"; store credit of at least {float(decision['store_credit_min']):.2f} {decision['currency']}")
    if decision.get("processing_fee_may_apply"):
        t.append("; a processing fee may apply", style="yellow")
    if decision.get("refer_to"):
        t.append(f"; refer to the {decision['refer_to'].replace('_', ' ')}", style="magenta")
    t.append("\n")
    if decision.get("missing"):
        t.append("Missing facts  ", style="bold yellow")
        t.append(", ".join(decision["missing"]) + "\n")
    t.append("\nExplanation (ready to send)\n", style="bold")
    t.append(decision["explanation"].strip() + "\n")
    whens = [_when(m) for m in timeline]
    width = max((len(w) + 2 for w in [*whens, *(when for when, _ in progress)]), default=0)
    if timeline:
        t.append(f"\nProcessing timeline{timeline_note}\n", style="bold")
        for m, when in zip(timeline, whens, strict=True):
            t.append(f"  {when:<{width}}", style="bold")
            t.append(f"{m['label']} ({m['source_section']})\n")
    if progress:
        t.append("\nRecorded\n", style="bold")
        for when, what in progress:
            t.append(f"  {when:<{width}}", style="bold")
            t.append(what + "\n")
    if decision.get("chargeback_consequences"):
        t.append("\nChargeback filed: the policy's consequences\n", style="bold red")
        for c in decision["chargeback_consequences"]:
            t.append(f"  • {c}\n")
    if actions:
        t.append("\nActions  ", style="bold")
        t.append("   ".join(f"[{k}] {label}" for k, label in actions) + "\n")
    return t


class PolicyStepView(Static):
    """Shows one wizard page (a step or the decision) as inert text."""

    DEFAULT_CSS = _CSS
    SCOPED_CSS = False

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", markup=False, id=id, classes=classes)

    def show_step(
        self, step: Step, result: StepResult, *, number: int, facts: dict[str, Any], tz: ZoneInfo | str = "UTC"
    ) -> None:
        self.set_class(True, "-step")
        self.set_class(False, "-decision")
        self.update(step_text(step, result, number=number, facts=facts, tz=tz))

    def show_decision(self, decision: dict[str, Any], **kw: Any) -> None:
        self.set_class(False, "-step")
        self.set_class(True, "-decision")
        self.update(decision_text(decision, **kw))


class FindingTrail(Static):
    """The running finding beside the step."""

    DEFAULT_CSS = _CSS
    SCOPED_CSS = False

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", markup=False, id=id, classes=classes)

    def show(self, steps: list[Step], results: list[StepResult], current: int) -> None:
        self.update(trail_text(steps, results, current))
