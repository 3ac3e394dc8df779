"""Policy versions as data: app/data/policies/<policy>-<effective date>.json.

Each file lists the policy's sections (number, title, own words) and the steps
the engine walks, in the policy's own priority: the section, the question, the
named predicate that answers it from the facts, the answer choices and where
each answer leads. Files are checked when loaded, so a broken file fails loudly
at start-up, not in the middle of a decision.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.errors import ConfigError, InputError
from app.refunds.facts import FACT_NAMES
from app.refunds.predicates import PREDICATES

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "policies"
OUTCOMES = ("full_refund", "partial_refund", "replacement", "store_credit", "case_by_case",
            "needs_info", "investigate", "refer", "denied")
REFER_TO = ("reseller", "business_team", "provider")


@dataclass(frozen=True)
class Step:
    """One question of a policy walk (what the wizard shows, one at a time)."""

    id: str
    section: str
    title: str
    text: str
    question: str
    reads: tuple[str, ...]
    choices: tuple[tuple[str, str], ...]
    predicate: str
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    # a review step: asked only after one of these steps decided denied or
    # case_by_case (esimium 8.1: refunds outside the standard policy)
    reviews: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyVersion:
    policy: str
    version: str
    effective_from: date
    title: str
    effective_note: str
    refund_method_rule: str
    allowed_alternatives: tuple[str, ...]
    sections: dict[str, dict[str, str]]  # number -> {title, text, text_et?}, document order
    steps: tuple[Step, ...]
    chargeback_consequences: tuple[str, ...]
    statutory_rights: str = ""


def _bad(path: Path, msg: str) -> ConfigError:
    return ConfigError(f"policy file {path.name}: {msg}")


def _load_file(path: Path) -> PolicyVersion:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        eff = date.fromisoformat(raw["effective_from"])
        sections = {s["number"]: {k: v for k, v in s.items() if k != "number"} for s in raw["sections"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _bad(path, f"unreadable ({exc})") from None
    steps: list[Step] = []
    for s in raw.get("steps", []):
        sec = s.get("section")
        if sec not in sections:
            raise _bad(path, f"step {s.get('id')}: unknown section {sec!r}")
        if s.get("predicate") not in PREDICATES:
            raise _bad(path, f"step {s['id']}: unknown predicate {s.get('predicate')!r}")
        values = [c[0] for c in s["choices"]]
        for unknown in set(s["reads"]) - set(FACT_NAMES):
            raise _bad(path, f"step {s['id']}: reads unknown fact {unknown!r}")
        if set(s["leads"]) != set(values):
            raise _bad(path, f"step {s['id']}: leads do not match choices")
        for ans, lead in s["leads"].items():
            if lead.get("next") or lead.get("keep"):
                cites = lead.get("cite", [])
            else:
                if lead.get("outcome") not in OUTCOMES:
                    raise _bad(path, f"step {s['id']} answer {ans}: bad outcome {lead.get('outcome')!r}")
                if lead["outcome"] == "refer" and lead.get("refer_to") not in REFER_TO:
                    raise _bad(path, f"step {s['id']} answer {ans}: refer without refer_to")
                cites = lead.get("cite") or []
                if not cites:
                    raise _bad(path, f"step {s['id']} answer {ans}: decisive answer cites nothing")
            for c in cites:
                if c not in sections:
                    raise _bad(path, f"step {s['id']} answer {ans}: cites unknown section {c!r}")
        steps.append(Step(
            id=s["id"], section=sec, title=sections[sec]["title"], text=sections[sec]["text"],
            question=s["question"], reads=tuple(s["reads"]),
            choices=tuple((c[0], c[1]) for c in s["choices"]), predicate=s["predicate"],
            params=dict(s.get("params", {})), leads=s["leads"], reviews=tuple(s.get("reviews", ())),
        ))
    main = [st for st in steps if not st.reviews]
    if not main or any(lead.get("next") for lead in main[-1].leads.values()):
        raise _bad(path, "the last step must decide every answer")
    ids = {st.id for st in steps}
    for st in steps:
        for r in st.reviews:
            if r not in ids:
                raise _bad(path, f"step {st.id}: reviews unknown step {r!r}")
    return PolicyVersion(
        policy=raw["policy"], version=raw["version"], effective_from=eff, title=raw.get("title", ""),
        effective_note=raw.get("effective_note", ""), refund_method_rule=raw["refund_method_rule"],
        allowed_alternatives=tuple(raw.get("allowed_alternatives", ())), sections=sections,
        steps=tuple(steps), chargeback_consequences=tuple(raw.get("chargeback_consequences", ())),
        statutory_rights=raw.get("statutory_rights", ""),
    )


@lru_cache(maxsize=1)
def _registry() -> dict[str, tuple[PolicyVersion, ...]]:
    found: dict[str, list[PolicyVersion]] = {}
    for path in sorted(DATA_DIR.glob("*.json")):
        pv = _load_file(path)
        found.setdefault(pv.policy, []).append(pv)
    return {k: tuple(sorted(v, key=lambda p: p.effective_from)) for k, v in sorted(found.items())}


def policy_ids() -> list[str]:
    return list(_registry())


def versions(policy_id: str) -> tuple[PolicyVersion, ...]:
    try:
        return _registry()[policy_id]
    except KeyError:
        raise InputError(f"unknown policy {policy_id!r} (known: {', '.join(policy_ids())})") from None


def get_version(policy_id: str, version: str | None = None) -> PolicyVersion:
    """A named version, or the newest when version is None."""
    vs = versions(policy_id)
    if version is None:
        return vs[-1]
    for v in vs:
        if v.version == version or v.effective_from.isoformat() == version:
            return v
    raise InputError(f"unknown version {version!r} of policy {policy_id}")


def version_for(policy_id: str, purchase_at: datetime) -> tuple[PolicyVersion, str | None]:
    """The version in force at the purchase (by its UTC date), and a note when
    the purchase predates every version (the earliest is used then)."""
    vs = versions(policy_id)
    day = purchase_at.astimezone(UTC).date()
    chosen = None
    for v in vs:
        if v.effective_from <= day:
            chosen = v
    if chosen is None:
        first = vs[0]
        return first, (f"purchase on {day.isoformat()} predates the earliest {policy_id} version "
                       f"({first.effective_from.isoformat()}); that version was applied")
    return chosen, None


def policy_steps(policy_id: str, version: str | None = None) -> list[Step]:
    return list(get_version(policy_id, version).steps)


def section_text(policy_id: str, section: str, version: str | None = None) -> str:
    pv = get_version(policy_id, version)
    try:
        s = pv.sections[section]
    except KeyError:
        raise InputError(f"policy {policy_id} has no section {section!r}") from None
    return f"{section} {s['title']}: {s['text']}"


def section_numbers(policy_id: str, version: str | None = None) -> list[str]:
    return list(get_version(policy_id, version).sections)
