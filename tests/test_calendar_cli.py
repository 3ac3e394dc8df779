"""`esimdesk sla due` / `sla recompute` through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".venv" / "bin" / "esimdesk"
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app.cli.main"]


def run(tmp_path: Path, *args: str, config: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESIMDESK_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")  # no user config unless given
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    if config is not None:
        path = tmp_path / "config.toml"
        path.write_text(config, encoding="utf-8")
        env["ESIMDESK_CONFIG"] = str(path)
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--start", "2026-12-18T15:00:00+02:00", "--days", "2", "--country", "EE"],
            {"due_date": "2026-12-22", "due_at": "2026-12-22T23:59:59.999999+02:00", "business_days": 2},
        ),
        (
            ["--start", "2026-12-23T10:00", "--days", "2", "--country", "EE", "--tz", "Europe/Tallinn"],
            {"due_date": "2026-12-29", "due_at": "2026-12-29T23:59:59.999999+02:00", "business_days": 2},
        ),
        (
            ["--start", "2026-12-23T10:00", "--days", "2", "--country", "EE", "--closed", "2026-12-28"],
            {"due_date": "2026-12-30", "due_at": "2026-12-30T23:59:59.999999+02:00", "business_days": 2},
        ),
        (
            [
                "--start",
                "2027-01-04T09:00+01:00",
                "--days",
                "2",
                "--country",
                "DE",
                "--subdiv",
                "BY",
                "--tz",
                "Europe/Berlin",
            ],
            {"due_date": "2027-01-07", "due_at": "2027-01-07T23:59:59.999999+01:00", "business_days": 2},
        ),
        (
            ["--start", "2026-10-30T12:00Z", "--days", "1", "--country", "US", "--tz", "America/New_York"],
            {"due_date": "2026-11-02", "due_at": "2026-11-02T23:59:59.999999-05:00", "business_days": 1},
        ),
    ],
)
def test_sla_due_answers(tmp_path, args, expected):
    proc = run(tmp_path, "sla", "due", *args)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected
    assert proc.stdout.count("\n") == 1


def test_sla_due_timezone_defaults_to_the_desk_config(tmp_path):
    args = ["sla", "due", "--start", "2026-12-17T22:30:00Z", "--days", "1", "--country", "US"]
    ny = run(tmp_path, *args, config='[calendar]\ncountry = "US"\ntimezone = "America/New_York"\n')
    assert json.loads(ny.stdout)["due_at"] == "2026-12-18T23:59:59.999999-05:00"  # still Thursday in New York
    tallinn = run(tmp_path / "x", *args)
    assert json.loads(tallinn.stdout)["due_at"] == "2026-12-21T23:59:59.999999+02:00"  # Friday in Tallinn


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--start", "2026-12-18T15:00", "--days", "2", "--country", "XX"], "unknown country 'XX'"),
        (
            ["--start", "2026-12-18T15:00", "--days", "2", "--country", "US", "--subdiv", "ZZ"],
            "unknown subdivision 'ZZ' of US",
        ),
        (
            ["--start", "2026-12-18T15:00", "--days", "2", "--country", "EE", "--tz", "Mars/Base"],
            "unknown timezone 'Mars/Base'",
        ),
        (["--start", "18.12.2026 15:00", "--days", "2", "--country", "EE"], "malformed --start"),
        (
            ["--start", "2026-12-18T15:00", "--days", "2", "--country", "EE", "--closed", "2026-13-01"],
            "malformed --closed date",
        ),
        (["--start", "2026-12-18T15:00", "--days", "-1", "--country", "EE"], "0 or more"),
        (["--start", "2026-12-18T15:00", "--days", "two", "--country", "EE"], "--days"),
        (["--days", "2", "--country", "EE"], "--start"),
    ],
)
def test_sla_due_bad_input_is_one_line_exit_2(tmp_path, args, needle):
    proc = run(tmp_path, "sla", "due", *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_sla_recompute_dry_run_and_apply(tmp_path):
    db = f"sqlite:///{tmp_path}/d.sqlite"
    proc = run(tmp_path, "--db", db, "sla", "recompute", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"changed": 0, "dry_run": True}
    proc = run(tmp_path, "--db", db, "sla", "recompute")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["changed"] == 0
