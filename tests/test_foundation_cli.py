"""The CLI: identity, staff, demo, export, and one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=180,
    )


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--db", "mysql://x@y/z", "db", "upgrade"], "unsupported database"),
        (["--db", "not a url", "db", "upgrade"], "malformed database URL"),
        (["--db", "sqlite:////no/such/folder/x.sqlite", "db", "upgrade"], "does not exist"),
        (["staff", "add", "--login", "zed", "--role", "wizard"], "invalid choice"),
        (["demo", "--tickets", "many"], "invalid int value"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, expected, desk_url):
    if "--db" not in args:
        args = ["--db", desk_url, *args]
    assert expected in one_line_error(cli(*args))


def test_bad_config_is_one_line_exit_2(tmp_path, desk_url):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[calendar]\nworkweek = ['mon', 'funday']\n")
    assert "calendar.workweek" in one_line_error(cli("--config", str(cfg), "--db", desk_url, "staff", "list"))


def test_unknown_account_is_refused_with_no_data(desk_url):
    cli("--db", desk_url, "demo", "--tickets", "30")  # makes this OS login a supervisor
    from app.db import open_desk
    from app.identity import os_login

    d = open_desk(desk_url)
    with d.engine.begin() as conn:
        conn.execute(text("UPDATE staff SET login = 'someone_else' WHERE login = :me"), {"me": os_login()})
    d.dispose()
    proc = cli("--db", desk_url, "export")
    assert "not registered as staff" in one_line_error(proc)
    assert proc.stdout == ""


def test_as_login_only_on_demo_desks(desk_url, tmp_path):
    assert (
        json.loads(cli("--db", desk_url, "staff", "add", "--login", "root_admin", "--role", "admin").stdout)["role"]
        == "admin"
    )
    proc = cli("--db", desk_url, "--as", "root_admin", "export")
    from app.identity import os_login

    if os_login() != "root_admin":
        assert "--as is allowed only on a demo desk" in one_line_error(proc)


def test_demo_export_round_trip(desk_url):
    out = json.loads(
        cli("--db", desk_url, "demo", "--tickets", "300", "--seed", "3", "--now", "2026-11-23T10:00:00Z").stdout
    )
    assert out["tickets"] == 300
    proc = cli("--db", desk_url, "export")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 300
    required = {
        "reference",
        "kind",
        "status",
        "received_at",
        "acknowledged_at",
        "ack_due_at",
        "resolution_due_at",
        "final_response_due_at",
        "extensions",
        "closed_at",
        "escalation_of",
        "assignee",
        "reviewer",
        "handlers",
        "order_number",
        "customer_email",
        "policy",
        "outcome",
        "sla_state",
    }
    assert required <= set(rows[0])
    assert {r["kind"] for r in rows} == {"complaint", "escalation", "refund", "inquiry"}
    by_ref = {r["reference"]: r for r in rows}
    # impartiality in the demo: no escalation's reviewer handled its complaint
    for r in rows:
        if r["kind"] == "escalation" and r["reviewer"]:
            assert r["reviewer"] not in by_ref[r["escalation_of"]]["handlers"]
    # datetimes carry an offset
    assert all(r["received_at"][-6] in "+-" for r in rows)
    masked = [
        json.loads(line)
        for line in cli("--db", desk_url, "export", "--mask-pii", "--kind", "refund").stdout.splitlines()
    ]
    assert masked and all("***@" in r["customer_email"] for r in masked)
    assert all(r["kind"] == "refund" and r["policy"] in ("esimium", "airalo") for r in masked)
    csv_lines = cli("--db", desk_url, "export", "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("reference,kind,status") and len(csv_lines) == 301


def test_demo_is_deterministic(tmp_path):
    a, b = f"sqlite:///{tmp_path}/a.sqlite", f"sqlite:///{tmp_path}/b.sqlite"
    for url in (a, b):
        cli("--db", url, "demo", "--tickets", "120", "--seed", "11", "--now", "2026-11-23T10:00:00Z")
    assert cli("--db", a, "export").stdout == cli("--db", b, "export").stdout


def test_demo_refuses_a_filled_desk(desk_url):
    cli("--db", desk_url, "demo", "--tickets", "20")
    assert "already has 20 tickets" in one_line_error(cli("--db", desk_url, "demo", "--tickets", "20"))


def test_db_upgrade_reports_revision(desk_url):
    out = json.loads(cli("--db", desk_url, "db", "upgrade").stdout)
    assert out["to"]
    cur = json.loads(cli("--db", desk_url, "db", "current").stdout)
    assert cur["current"] == cur["head"]
