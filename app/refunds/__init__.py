"""Refund decisions under the desk's written policies (the shared refund decision contract).

Policies are data (app/data/policies/*.json: steps, windows, milestones, the
words for each refund method, the default policy), read by one loader
(policies.py) and walked step by step with small named predicates; see
engine.py. Domain code: no Textual, no Rich.
"""

from __future__ import annotations

from app.refunds.engine import (
    StepResult,
    chargeback_consequences,
    decide,
    decision_from_steps,
    evaluate_step,
    iter_walk,
    walk,
    walk_steps,
)
from app.refunds.facts import FACT_NAMES, REASONS, Facts, fact_prompt, parse_facts
from app.refunds.milestones import milestones, notice_text
from app.refunds.policies import (
    Step,
    default_policy,
    extra_policy_dir,
    policy_ids,
    policy_steps,
    section_numbers,
    section_text,
    version_for,
)
from app.refunds.rules import Rules, rules_from_config

__all__ = [
    "FACT_NAMES",
    "REASONS",
    "Facts",
    "Rules",
    "Step",
    "StepResult",
    "chargeback_consequences",
    "decide",
    "decision_from_steps",
    "default_policy",
    "evaluate_step",
    "extra_policy_dir",
    "fact_prompt",
    "iter_walk",
    "milestones",
    "notice_text",
    "parse_facts",
    "policy_ids",
    "policy_steps",
    "rules_from_config",
    "section_numbers",
    "section_text",
    "version_for",
    "walk",
    "walk_steps",
]
