"""Policy data files and the step API the console wizard uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import ConfigError, InputError
from app.refunds import chargeback_consequences, policy_ids, policy_steps, section_numbers, section_text
from app.refunds.facts import FACT_NAMES
from app.refunds.policies import DATA_DIR, _load_file

ROOT = Path(__file__).resolve().parent.parent


def test_policy_ids_and_files():
    assert policy_ids() == ["airalo", "esimium"]
    files = sorted(p.name for p in DATA_DIR.glob("*.json"))
    assert "airalo-2024-06-03.json" in files and any(f.startswith("esimium-") for f in files)


def test_esimium_sections_in_document_order():
    assert section_numbers("esimium") == [
        "2.1",
        "2.2",
        "3.1",
        "3.2",
        "3.3",
        "3.4",
        "3.5",
        "4.1",
        "4.2",
        "4.3",
        "5.1",
        "5.2",
        "5.3",
        "5.4",
        "6.1",
        "6.2",
        "6.3",
        "6.4",
        "7.1",
        "7.2",
        "7.3",
        "8.1",
        "8.2",
    ]


def test_airalo_has_every_subsection_of_6():
    nums = section_numbers("airalo")
    for n in ["6", "6.1", *[f"6.1.{i}" for i in range(1, 14)], "6.1.12.1", "6.1.12.1.7", "6.1.12.2", "6.1.13.1", "6.2"]:
        assert n in nums, n


@pytest.mark.parametrize("policy", ["esimium", "airalo"])
def test_steps_are_complete_for_the_wizard(policy):
    steps = policy_steps(policy)
    # routing first, then exclusions (the policies' own priority)
    # first: does the stated reason fit the facts (issue 17: facts first)
    assert steps[0].id == "reason" and steps[0].predicate == "reason_fits"
    assert [s.section for s in steps[1:3]] == {"esimium": ["8.2", "3.5"], "airalo": ["6.1.13", "6.1.12"]}[policy]
    for st in steps:
        assert st.title and st.text and st.question.endswith(("?", ")."))
        assert st.choices and all(value and label for value, label in st.choices)
        assert set(st.reads) <= set(FACT_NAMES)
        assert section_text(policy, st.section).startswith(f"{st.section} {st.title}: ")


def test_section_text_unknown():
    with pytest.raises(InputError, match="no section '9.9'"):
        section_text("esimium", "9.9")
    assert "Airalo's technical problems" in section_text("airalo", "6")


def test_chargeback_consequences_in_own_words():
    cons = chargeback_consequences("esimium")
    assert cons[0].startswith("Account Suspension") and any("$15-25" in c for c in cons)
    assert chargeback_consequences("airalo")


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["steps"][1].update(section="99"), "unknown section"),
        (lambda d: d["steps"][1].update(predicate="nope"), "unknown predicate"),
        (lambda d: d["steps"][1]["leads"].pop("no"), "leads do not match"),
        (lambda d: d["steps"][1]["leads"]["bulk"].update(cite=["42"]), "cites unknown section"),
        (lambda d: d["steps"][1]["leads"]["bulk"].update(outcome="maybe"), "bad outcome"),
        (lambda d: d["steps"][-2]["leads"]["cancellation"].update(next=True), "last step must decide"),
        (lambda d: d["steps"][-1].update(reviews=["nowhere"]), "reviews unknown step"),
    ],
)
def test_broken_policy_file_fails_loudly(tmp_path, mutate, needle):
    raw = json.loads((DATA_DIR / "esimium-2024-01-01.json").read_text())
    mutate(raw)
    p = tmp_path / "esimium-2099-01-01.json"
    p.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=needle):
        _load_file(p)


def test_domain_code_imports_no_textual_or_rich():
    code = (
        "import sys, app.refunds, app.refunds.evidence, app.cli.refund_cmd; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_every_fact_a_step_can_miss_has_a_prompt():
    from app.refunds import fact_prompt
    from app.refunds.facts import FACT_PROMPTS

    for policy in ("esimium", "airalo"):
        for st in policy_steps(policy):
            for name in st.reads:
                question, _choices = fact_prompt(name)
                assert question.endswith("?")
    for name in (
        "provider_fault_confirmed",
        "instructions_followed",
        "troubleshooting_completed",
        "documentation_provided",
    ):
        assert [c[0] for c in FACT_PROMPTS[name][1]] == [True, False, None]
    with pytest.raises(InputError):
        fact_prompt("colour")
