"""`esimdesk refund decide` through a real subprocess, per the shared refund decision contract."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.refunds import decide

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".venv" / "bin" / "esimdesk"


def _command() -> list[str]:
    """The installed script when every sub-command module exists; while other
    helpers' modules are still missing, the same main() with only ours."""
    from app.cli import main as cli_main

    if SCRIPT.exists() and all(importlib.util.find_spec(m) for m in cli_main.COMMAND_MODULES):
        return [str(SCRIPT)]
    return [
        sys.executable,
        "-c",
        "import sys, app.cli.main as m; m.COMMAND_MODULES = ('app.cli.refund_cmd',); sys.exit(m.main(sys.argv[1:]))",
    ]


def run(args, tmp_path, stdin=None):
    db = tmp_path / "nodb" / "desk.db"
    env = {
        **{k: v for k, v in os.environ.items() if k != "ESIMDESK_CONFIG"},
        "ESIMDESK_DB": f"sqlite:///{db}",
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PYTHONPATH": str(ROOT),
    }
    p = subprocess.run([*_command(), *args], input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert not db.parent.exists(), "refund decide must not open the database"
    return p


CASES = [
    (
        "esimium",
        {
            "purchase_at": "2025-03-10T09:00:00+02:00",
            "request_at": "2025-03-17T07:00:00Z",
            "amount_paid": 19.9,
            "currency": "EUR",
            "reason": "cancel_before_activation",
        },
    ),
    (
        "esimium",
        {
            "purchase_at": "2025-03-10T09:00:00",
            "request_at": "2025-03-17T09:01:00",
            "amount_paid": 5,
            "currency": "USD",
            "reason": "technical_failure",
        },
    ),
    (
        "airalo",
        {
            "purchase_at": "2025-03-10T09:00:00Z",
            "request_at": "2025-03-12T09:00:00Z",
            "amount_paid": 9,
            "currency": "USD",
            "reason": "technical_failure",
            "payment_method": "airmoney",
            "provider_fault_confirmed": True,
            "troubleshooting_completed": True,
        },
    ),
    (
        "airalo",
        {
            "purchase_at": "2025-03-10T09:00:00Z",
            "request_at": "2025-03-12T09:00:00Z",
            "amount_paid": 9,
            "currency": "USD",
            "reason": "other",
            "customer_type": "end_customer",
        },
    ),
]


@pytest.mark.parametrize(("policy", "facts"), CASES)
def test_decide_file_matches_engine_and_wizard(policy, facts, tmp_path):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    p = run(["refund", "decide", "--policy", policy, "--facts", str(path)], tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    out = json.loads(p.stdout)
    assert out == decide(policy, facts)
    for key in (
        "policy",
        "policy_version",
        "outcome",
        "sections",
        "explanation",
        "steps",
        "max_refund",
        "currency",
        "refund_method",
        "processing_fee_may_apply",
        "refer_to",
        "missing",
    ):
        assert key in out


def test_decide_stdin(tmp_path):
    policy, facts = CASES[0]
    p = run(["refund", "decide", "--policy", policy, "--facts", "-"], tmp_path, stdin=json.dumps(facts))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["outcome"] == "full_refund"


def test_invalid_facts_exit_2_every_field_named(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "purchase_at": "soon",
                "request_at": "2025-03-12T09:00:00Z",
                "amount_paid": -3,
                "currency": "EUR",
                "reason": "x",
                "installed": "no",
            }
        )
    )
    p = run(["refund", "decide", "--policy", "esimium", "--facts", str(path)], tmp_path)
    assert p.returncode == 2
    assert p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    for part in (
        "purchase_at: not an ISO 8601 datetime",
        "amount_paid: must be a number >= 0",
        "reason: unknown value 'x'",
        "installed: must be true or false",
    ):
        assert part in p.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "facts file not found"),
        ("{not json", "not valid JSON"),
        ("[]", "facts: must be a JSON object"),
    ],
)
def test_unreadable_facts_one_line_exit_2(content, needle, tmp_path):
    path = tmp_path / "f.json"
    if content is not None:
        path.write_text(content)
    p = run(["refund", "decide", "--policy", "airalo", "--facts", str(path)], tmp_path)
    assert p.returncode == 2 and p.stdout == ""
    assert needle in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_unknown_policy_is_a_usage_error(tmp_path):
    p = run(["refund", "decide", "--policy", "acme", "--facts", "-"], tmp_path, stdin="{}")
    assert p.returncode == 2 and p.stdout == "" and "acme" in p.stderr


def test_cli_agrees_with_the_wizard_on_the_whole_table(tmp_path):
    """The CLI (a separate process) and the wizard path (policy_steps one at a
    time) give the same decision on every case of the table."""
    from concurrent.futures import ThreadPoolExecutor

    from test_refund_properties import wizard_path
    from test_refund_table import CASES as TABLE

    def one(i_case):
        i, (_cid, policy, facts, *_rest) = i_case
        d = tmp_path / str(i)
        d.mkdir()
        path = d / "facts.json"
        path.write_text(json.dumps(facts))
        return policy, facts, run(["refund", "decide", "--policy", policy, "--facts", str(path)], d)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, enumerate(TABLE)))
    assert len(results) >= 40
    for policy, facts, p in results:
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == wizard_path(policy, facts)


def test_cli_reads_the_desks_preactivation_rule(tmp_path):
    """`[refunds] esimium_preactivation` in the config changes the CLI's decision (issue 17, point 3)."""
    facts = {
        "purchase_at": "2025-03-10T09:00:00Z",
        "request_at": "2025-03-12T09:00:00Z",
        "amount_paid": 20,
        "currency": "EUR",
        "reason": "no_longer_needed",
    }
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    default = run(["refund", "decide", "--policy", "esimium", "--facts", str(path)], tmp_path)
    assert json.loads(default.stdout)["outcome"] == "full_refund"
    conf = tmp_path / "xdg" / "esimdesk" / "config.toml"
    conf.parent.mkdir(parents=True)
    conf.write_text('[refunds]\nesimium_preactivation = "case_by_case"\n')
    chosen = run(["refund", "decide", "--policy", "esimium", "--facts", str(path)], tmp_path)
    d = json.loads(chosen.stdout)
    assert (d["outcome"], d["sections"][:2]) == ("case_by_case", ["2.1", "3.2"])


def test_cli_agrees_with_the_wizard_path_on_every_label_variant(tmp_path, monkeypatch, capsys):
    """Every case of the table under each plausible label, through the CLI's
    own handler (in-process: a subprocess each would take minutes)."""
    from app.cli import main as cli_main
    from test_refund_properties import wizard_path
    from test_refund_table import ALL_VARIANTS

    monkeypatch.delenv("ESIMDESK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("app.cli.refund_cmd",))
    path = tmp_path / "facts.json"
    for vid, policy, facts, outcome in ALL_VARIANTS:
        path.write_text(json.dumps(facts))
        assert cli_main.main(["refund", "decide", "--policy", policy, "--facts", str(path)]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["outcome"] == outcome, vid
        assert out == wizard_path(policy, facts), vid
