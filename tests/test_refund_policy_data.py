"""A refund policy is data, all of it (issue 18, point 4): a made-up third
policy (tests/data/policies/northwind-*.json) runs the refund table tests,
the milestones, the notices, the SLA windows, the order import and the
refund case services with no code change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app import refund_cases
from app.errors import ConfigError, InputError
from app.orders.fields import validate_row
from app.refunds import decide, default_policy, extra_policy_dir, milestones, notice_text, policy_ids, walk
from app.refunds.policies import DATA_DIR, _load_file, policy_choices, refund_window
from app.sla_clocks import refund_in_account_due, refund_window_closes
from models import RefundCase, Ticket
from refund_case_helpers import CAL, RECEIVED, add_refund_ticket, add_staff
from test_refund_table import facts
from test_refund_table import test_case_table as check_case_row

ROOT = Path(__file__).resolve().parent.parent
THIRD = ROOT / "tests" / "data" / "policies"
P = "northwind"


@pytest.fixture(autouse=True)
def third_policy():
    with extra_policy_dir(THIRD):
        yield


# (id, policy, facts, expected outcome, decisive section, extra): the same row
# shape test_refund_table.CASES has, checked by its own test function
CASES = [
    (
        "n-unused-in-window",
        P,
        facts(reason="other"),
        "full_refund",
        "2",
        {"max_refund": 20, "refund_method": "original_payment", "sections": ["2", "7"]},
    ),
    ("n-day-14-still-in", P, facts(reason="other", request_at="2025-03-24T21:00:00Z"), "full_refund", "2", {}),
    ("n-day-15-late", P, facts(reason="other", request_at="2025-03-24T22:30:00Z"), "denied", "2", {"max_refund": 0}),
    ("n-activated", P, facts(reason="technical_failure", activated=True), "denied", "3", {"refund_method": "none"}),
    ("n-data-used", P, facts(reason="other", data_used_mb=12.0), "denied", "3", {}),
    ("n-fraud", P, facts(reason="other", fraud_evidence=True), "denied", "4", {}),
    ("n-terms", P, facts(reason="other", tos_violation=True), "denied", "4", {}),
    (
        "n-chargeback-open",
        P,
        facts(reason="other", chargeback_filed=True),
        "investigate",
        "5",
        {"waits_for": "chargeback_outcome", "max_refund": 0},
    ),
    (
        "n-chargeback-won",
        P,
        facts(reason="other", chargeback_filed=True, chargeback_outcome="customer_won"),
        "denied",
        "5",
        {},
    ),
    (
        "n-chargeback-resolved",
        P,
        facts(reason="other", chargeback_filed=True, chargeback_outcome="merchant_won"),
        "full_refund",
        "2",
        {"sections": ["2", "7", "5"]},
    ),
]


@pytest.mark.parametrize(("case_id", "policy", "f", "outcome", "section", "extra"), CASES, ids=[c[0] for c in CASES])
def test_third_policy_case_table(case_id, policy, f, outcome, section, extra):
    check_case_row(case_id, policy, f, outcome, section, extra)


def test_third_policy_is_loaded_beside_the_built_in_ones_and_only_while_asked():
    assert policy_ids() == ["airalo", "esimium", "northwind"]
    assert policy_choices() == ("esimium", "airalo", "northwind") and default_policy() == "esimium"


def test_every_decisive_answer_of_the_third_policy_is_in_its_table():
    from app.refunds import policy_steps

    reached = {(r.step_id, r.answer) for *_x, f, _o, _s, _e in CASES for r in walk(P, f) if r.decisive}
    wanted = {(st.id, ans) for st in policy_steps(P) for ans, lead in st.leads.items() if not lead.get("next")}
    assert not wanted - reached


def test_the_explanation_says_the_method_in_the_policy_files_words():
    d = decide(P, facts(reason="other", amount_paid=12.5))
    assert "12.50 EUR back to the card or account you paid with (section 2)" in d["explanation"]


def test_windows_milestones_and_notices_come_from_the_file():
    purchase = datetime(2026, 10, 20, 12, tzinfo=UTC)
    assert refund_window(P, purchase).days == 14
    assert refund_window_closes(CAL, P, purchase).date().isoformat() == "2026-11-03"
    approved = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # a Monday in Tallinn
    ms = {m["name"]: m for m in milestones(P, approved, CAL)}
    assert ms["initiated"]["due_date"] == "2026-03-12" and ms["in_account"]["due_date"] == "2026-03-23"
    assert ms["in_account"]["earliest_date"] == "2026-03-11" and ms["in_account"]["source_section"] == "6"
    assert refund_in_account_due(CAL, P, approved).isoformat() == ms["in_account"]["expected_at"]
    d = decide(P, facts(reason="other"))
    text = notice_text("approved", d, list(ms.values()))
    assert "to the card or account you paid with" in text
    assert "by 2026-03-12 (within 3 business days of approval)" in text and "2026-03-23" in text


def test_an_order_of_the_third_policy_imports():
    row = {
        "order_number": "ORD-1",
        "policy": P,
        "customer_email": "a@example.com",
        "purchase_at": "2026-03-01T10:00:00Z",
        "amount_paid": "9.99",
        "currency": "EUR",
    }
    ok, bad = validate_row(row)
    assert not bad and ok.values["policy"] == P


def test_the_refund_case_services_run_the_third_policy(desk):
    now = RECEIVED + timedelta(hours=2)
    with desk.session() as s:
        actor = add_staff(s)
        add_refund_ticket(s, "RFD-2026-000001", brand=P)
    with desk.session() as s:
        f = refund_cases.load(s, "RFD-2026-000001").facts
        d = refund_cases.record_facts(
            s, actor, "RFD-2026-000001", {**f, "reason": "other"}, expected_version=1, now=now
        )
    assert (d["policy"], d["outcome"]) == (P, "full_refund")
    with desk.session() as s:
        v = s.scalars(select(Ticket.version).where(Ticket.reference == "RFD-2026-000001")).one()
        ms = refund_cases.approve(s, actor, "RFD-2026-000001", expected_version=v, now=now, cal=CAL)
    assert [m["name"] for m in ms] == ["initiated", "in_account"]
    with desk.reader() as s:
        c = s.scalars(select(RefundCase)).one()
        assert c.expected_in_account_at == datetime.fromisoformat(ms[1]["expected_at"])


def test_the_cli_decides_under_any_policy_file_the_loader_knows():
    from app.cli.refund_cmd import _PolicyIds

    assert P in _PolicyIds() and "acme" not in _PolicyIds() and list(_PolicyIds())[0] == "esimium"


# -- the loader refuses a policy file that is not whole ------------------------
def _third() -> dict:
    return json.loads(next(THIRD.glob("*.json")).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.pop("windows"), "no 'refund' window"),
        (lambda d: d["windows"]["refund"].update(days="14"), "whole number of days"),
        (lambda d: d["windows"]["refund"].update(section="99"), "cites unknown section"),
        (lambda d: d["steps"][-1].update(window="grace"), "unknown window 'grace'"),
        (lambda d: d["steps"][-1].update(params={"days": 3}), "days given twice"),
        (lambda d: d["steps"][0].update(window="refund"), "reads no window"),
        (lambda d: d.pop("methods"), "no words for original_payment"),
        (lambda d: d["methods"]["original_payment"].pop("notice"), "needs decision, notice and label"),
        (lambda d: d["milestones"]["*"].pop(), "dated 'in_account'"),
        (lambda d: d["milestones"]["*"][0].update(earliest=5), "earliest <= due"),
        (lambda d: d["milestones"]["*"][0].update(unit="fortnights"), "unit one of"),
        (lambda d: d["milestones"].update(cash=[]), "unknown refund method 'cash'"),
        (lambda d: d.update(refund_method_rule="cash"), "unknown refund_method_rule"),
    ],
)
def test_a_broken_third_policy_fails_loudly(tmp_path, mutate, needle):
    raw = _third()
    mutate(raw)
    p = tmp_path / "northwind-2099-01-01.json"
    p.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=needle):
        _load_file(p)


def test_exactly_one_default_policy(tmp_path):
    raw = _third()
    raw["default"] = True
    (tmp_path / "northwind-2099-01-01.json").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="exactly one policy"), extra_policy_dir(tmp_path):
        pass
    assert default_policy() == "esimium"  # the failed load left the loader as it was


def test_unknown_policy_window_is_one_line():
    with pytest.raises(InputError, match="unknown refund policy 'acme'"):
        refund_window("acme", datetime(2026, 1, 1, tzinfo=UTC))


def test_no_policy_name_is_written_in_the_code():
    """The built-in policies are named only in their files (and in comments)."""
    import re

    named = re.compile(r"""["'](esimium|airalo)["']""")
    found = []
    for folder in ("app", "models", "screens", "widgets"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts or path.name == "demo.py" or path.name.startswith("demo_"):
                # the demo desk (app/demo.py and its demo_*.py parts) invents orders of both
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if named.search(code):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []
    assert sorted(p.name for p in DATA_DIR.glob("*.json")) == ["airalo-2024-06-03.json", "esimium-2024-01-01.json"]
