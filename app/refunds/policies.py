"""Policy versions as data: app/data/policies/<policy>-<effective date>.json.

Each file lists the policy's sections (number, title, own words) and the steps
the engine walks, in the policy's own priority: the section, the question, the
named predicate that answers it from the facts, the answer choices and where
each answer leads. It also holds everything else a policy decides: its time
windows (`windows`: days from a fact, e.g. 7 calendar days from the purchase;
a step names the window it reads), the milestones after approval
(`milestones`, by refund method, "*" for any other), the words for each
refund method (`methods`) and whether it is the desk's default policy
(`default`: a refund with no known order is decided under it). Adding a
policy is adding a file: no code names a policy.

Files are checked when loaded, so a broken file fails loudly at start-up, not
in the middle of a decision. This module is the one loader: the engine, the
milestones, the SLA clocks, the order import and the CLI all read it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.errors import ConfigError, InputError
from app.refunds.facts import FACT_NAMES
from app.refunds.predicates import PREDICATES, RULE_METHODS

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "policies"
OUTCOMES = (
    "full_refund",
    "partial_refund",
    "replacement",
    "store_credit",
    "case_by_case",
    "needs_info",
    "investigate",
    "refer",
    "denied",
)
REFER_TO = ("reseller", "business_team", "provider")
MILESTONE_UNITS = ("business_days", "calendar_days")
ANY_METHOD = "*"  # the milestones of a refund method the file does not list
WINDOW_STARTS = ("purchase_at", "request_at", "delivered_at", "invoice_received_at")


@dataclass(frozen=True)
class Window:
    """A time limit of the policy: `days` calendar days (desk time zone) from
    the fact `start` (esimium 2.2: 7 days from the purchase)."""

    name: str
    days: int
    start: str
    section: str


@dataclass(frozen=True)
class MethodWords:
    """How a refund method is said: in a decision's explanation ("to your
    original payment method"), in a customer notice ("Amount: 9.99 EUR, to
    <notice>"), on the wizard's decision page, and why the money does not go
    where the customer chose (None: never said)."""

    decision: str
    notice: str
    label: str
    choice_note: str | None = None
    sections: tuple[str, ...] = ()  # cited when the money goes this way (esimium 5.2)


def _period_ok(spec: MilestoneSpec) -> bool:
    """No period at all, or whole days 0 <= earliest <= due in a known unit."""
    if spec.earliest is None and spec.due is None and spec.unit is None:
        return True
    return (
        spec.unit in MILESTONE_UNITS
        and isinstance(spec.earliest, int)
        and isinstance(spec.due, int)
        and 0 <= spec.earliest <= spec.due
    )


@dataclass(frozen=True)
class MilestoneSpec:
    """A milestone after approval: `earliest`..`due` days (`unit`) from the
    approval; no days: a milestone the policy names without a period."""

    name: str
    label: str
    section: str
    earliest: int | None = None
    due: int | None = None
    unit: str | None = None
    promise: str = ""  # the notice's words for the period ("within 1-2 business days of approval")


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
    windows: dict[str, Window] = field(default_factory=dict, compare=False)
    methods: dict[str, MethodWords] = field(default_factory=dict, compare=False)
    milestones: dict[str, tuple[MilestoneSpec, ...]] = field(default_factory=dict, compare=False)
    default: bool = False

    def milestones_for(self, method: str | None) -> tuple[MilestoneSpec, ...]:
        return self.milestones.get(method or ANY_METHOD) or self.milestones[ANY_METHOD]

    def method_words(self, method: str | None) -> MethodWords | None:
        return self.methods.get(method or "")


def _bad(path: Path, msg: str) -> ConfigError:
    return ConfigError(f"policy file {path.name}: {msg}")


def _load_file(path: Path) -> PolicyVersion:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        eff = date.fromisoformat(raw["effective_from"])
        sections = {s["number"]: {k: v for k, v in s.items() if k != "number"} for s in raw["sections"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _bad(path, f"unreadable ({exc})") from None
    windows = _windows(path, raw, sections)
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
        steps.append(
            Step(
                id=s["id"],
                section=sec,
                title=sections[sec]["title"],
                text=sections[sec]["text"],
                question=s["question"],
                reads=tuple(s["reads"]),
                choices=tuple((c[0], c[1]) for c in s["choices"]),
                predicate=s["predicate"],
                params=_step_params(path, s, windows),
                leads=s["leads"],
                reviews=tuple(s.get("reviews", ())),
            )
        )
    main = [st for st in steps if not st.reviews]
    if not main or any(lead.get("next") for lead in main[-1].leads.values()):
        raise _bad(path, "the last step must decide every answer")
    ids = {st.id for st in steps}
    for st in steps:
        for r in st.reviews:
            if r not in ids:
                raise _bad(path, f"step {st.id}: reviews unknown step {r!r}")
    rule = raw["refund_method_rule"]
    if rule not in RULE_METHODS:
        raise _bad(path, f"unknown refund_method_rule {rule!r} (known: {', '.join(RULE_METHODS)})")
    methods = _methods(path, raw, rule, sections)
    return PolicyVersion(
        policy=raw["policy"],
        version=raw["version"],
        effective_from=eff,
        title=raw.get("title", ""),
        effective_note=raw.get("effective_note", ""),
        refund_method_rule=rule,
        allowed_alternatives=tuple(raw.get("allowed_alternatives", ())),
        sections=sections,
        steps=tuple(steps),
        chargeback_consequences=tuple(raw.get("chargeback_consequences", ())),
        statutory_rights=raw.get("statutory_rights", ""),
        windows=windows,
        methods=methods,
        milestones=_milestones(path, raw, sections, methods),
        default=raw.get("default", False) is True,
    )


def _windows(path: Path, raw: dict[str, Any], sections: dict[str, Any]) -> dict[str, Window]:
    out: dict[str, Window] = {}
    for name, w in (raw.get("windows") or {}).items():
        if (
            not isinstance(w, dict)
            or not isinstance(w.get("days"), int)
            or isinstance(w["days"], bool)
            or w["days"] < 0
        ):
            raise _bad(path, f"window {name!r}: days must be a whole number of days")
        if w.get("from") not in WINDOW_STARTS:
            raise _bad(path, f"window {name!r}: from must be one of {', '.join(WINDOW_STARTS)}")
        if w.get("section") not in sections:
            raise _bad(path, f"window {name!r}: cites unknown section {w.get('section')!r}")
        out[name] = Window(name, w["days"], w["from"], w["section"])
    if "refund" not in out:
        raise _bad(path, "windows: no 'refund' window (days from the purchase to ask for a refund)")
    return out


def _step_params(path: Path, s: dict[str, Any], windows: dict[str, Window]) -> dict[str, Any]:
    """The step's params, with the days (and start) of the window it names."""
    params = dict(s.get("params", {}))
    name = s.get("window")
    if name is None:
        return params
    if name not in windows:
        raise _bad(path, f"step {s['id']}: unknown window {name!r}")
    if "days" in params:
        raise _bad(path, f"step {s['id']}: days given twice (params and window {name!r})")
    accepts = inspect.signature(PREDICATES[s["predicate"]]).parameters
    if "days" not in accepts:
        raise _bad(path, f"step {s['id']}: predicate {s['predicate']} reads no window")
    params["days"] = windows[name].days
    if "start" in accepts:
        params["start"] = windows[name].start
    return params


def _methods(path: Path, raw: dict[str, Any], rule: str, sections: dict[str, Any]) -> dict[str, MethodWords]:
    out: dict[str, MethodWords] = {}
    for method, words in (raw.get("methods") or {}).items():
        try:
            out[method] = MethodWords(
                decision=str(words["decision"]),
                notice=str(words["notice"]),
                label=str(words["label"]),
                choice_note=words.get("choice_note"),
                sections=tuple(words.get("sections", ())),
            )
        except (KeyError, TypeError):
            raise _bad(path, f"method {method!r}: needs decision, notice and label words") from None
        for c in out[method].sections:
            if c not in sections:
                raise _bad(path, f"method {method!r}: cites unknown section {c!r}")
    missing = [m for m in RULE_METHODS[rule] if m not in out]
    if missing:
        raise _bad(path, f"methods: no words for {', '.join(missing)} (refund_method_rule {rule} pays that way)")
    return out


def _milestones(
    path: Path, raw: dict[str, Any], sections: dict[str, Any], methods: dict[str, MethodWords]
) -> dict[str, tuple[MilestoneSpec, ...]]:
    out: dict[str, tuple[MilestoneSpec, ...]] = {}
    for method, items in (raw.get("milestones") or {}).items():
        if method != ANY_METHOD and method not in methods:
            raise _bad(path, f"milestones: unknown refund method {method!r}")
        specs = []
        for m in items or ():
            try:
                spec = MilestoneSpec(
                    name=m["name"],
                    label=m["label"],
                    section=m["section"],
                    earliest=m.get("earliest"),
                    due=m.get("due"),
                    unit=m.get("unit"),
                    promise=m.get("promise", ""),
                )
            except (KeyError, TypeError):
                raise _bad(path, f"milestones {method}: each needs name, label and section") from None
            if spec.section not in sections:
                raise _bad(path, f"milestone {spec.name}: cites unknown section {spec.section!r}")
            if not _period_ok(spec):
                raise _bad(
                    path,
                    f"milestone {spec.name}: earliest <= due, whole days, unit one of {', '.join(MILESTONE_UNITS)}",
                )
            specs.append(spec)
        if not specs:
            raise _bad(path, f"milestones {method}: none listed")
        out[method] = tuple(specs)
    in_account = [m for m in out.get(ANY_METHOD, ()) if m.name == "in_account" and m.due is not None]
    if not in_account:
        raise _bad(path, "milestones: '*' needs a dated 'in_account' milestone (when the money should arrive)")
    return out


_extra_dirs: tuple[Path, ...] = ()


@contextmanager
def extra_policy_dir(path: Path) -> Iterator[None]:
    """Load the policy files in `path` too, while the block runs (a desk's or
    a test's own policy, beside the built-in ones)."""
    global _extra_dirs
    before = _extra_dirs
    _extra_dirs = (*before, Path(path))
    _registry.cache_clear()
    try:
        _registry()  # a broken file fails here, at the start
        yield
    finally:
        _extra_dirs = before
        _registry.cache_clear()


@lru_cache(maxsize=1)
def _registry() -> dict[str, tuple[PolicyVersion, ...]]:
    found: dict[str, list[PolicyVersion]] = {}
    for folder in (DATA_DIR, *_extra_dirs):
        for path in sorted(folder.glob("*.json")):
            pv = _load_file(path)
            found.setdefault(pv.policy, []).append(pv)
    registry = {k: tuple(sorted(v, key=lambda p: p.effective_from)) for k, v in sorted(found.items())}
    defaults = sorted({pv.policy for vs in registry.values() for pv in vs if pv.default})
    if len(defaults) != 1:
        raise ConfigError(
            f'policy files: exactly one policy must say "default": true (found: {", ".join(defaults) or "none"})'
        )
    return registry


def policy_ids() -> list[str]:
    return list(_registry())


def default_policy() -> str:
    """The policy a refund with no known order is decided under (the file that says "default": true)."""
    return next(pid for pid, vs in _registry().items() if any(pv.default for pv in vs))


def policy_choices() -> tuple[str, ...]:
    """The policy ids as offered to a person: the default first, then the rest."""
    first = default_policy()
    return (first, *(p for p in _registry() if p != first))


def refund_window(policy_id: str, purchase_at: datetime, name: str = "refund") -> Window:
    """The policy's window `name` for a purchase (from the version in force then)."""
    if policy_id not in _registry():
        raise InputError(f"unknown refund policy {policy_id!r} (known: {', '.join(policy_choices())})")
    pv, _note = version_for(policy_id, purchase_at)
    try:
        return pv.windows[name]
    except KeyError:
        raise InputError(f"policy {policy_id} has no {name!r} window") from None


def method_words(decision: dict[str, Any], method: str | None) -> MethodWords | None:
    """How `method` is said under the decision's policy version (None: not a refund method of it)."""
    pv = get_version(decision["policy"], decision.get("policy_version"))
    return pv.method_words(method)


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
        return first, (
            f"purchase on {day.isoformat()} predates the earliest {policy_id} version "
            f"({first.effective_from.isoformat()}); that version was applied"
        )
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
