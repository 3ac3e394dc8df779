"""Migrations under load: upgrading while consoles work; an older program facing a newer schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from app.db import make_engine, open_desk
from app.migrations_runner import MIGRATIONS_DIR, current_revision, head_revision
from pg_fixtures import engine_url  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.concurrency_bench import seed  # noqa: E402

ESIMDESK = [sys.executable, "-m", "app.cli.main"]

# A console-like process: polls the change marker, sends presence heartbeats
# and edits tickets in short transactions until told to stop; reports errors.
CONSOLE = """
import sys, time
from datetime import UTC, datetime
from app import history, presence
from app.change_marker import marker
from app.db import open_desk
from app.errors import StaleTicket
from app.tickets import lock, touch
desk = open_desk(sys.argv[1])
ref = "CMP-{y}-900000".format(y=datetime.now(UTC).year)
errors, writes = [], 0
print("up", flush=True)
stop_at = time.monotonic() + float(sys.argv[2])
while time.monotonic() < stop_at:
    try:
        with desk.reader() as s:
            marker(s)
        with desk.session() as s:
            presence.heartbeat(s, "console-1", "agent0", None, datetime.now(UTC))
        with desk.session() as s:
            t = lock(s, ref)
            t.priority = t.priority % 3 + 1
            touch(t, "agent0", datetime.now(UTC))
            history.record(s, t.id, "agent0", "priority", datetime.now(UTC))
        writes += 1
    except StaleTicket:
        pass
    except Exception as exc:
        errors.append(type(exc).__name__ + ": " + str(exc).splitlines()[0])
    time.sleep(0.02)
print("writes", writes, flush=True)
print("errors", len(errors), *errors[:3], flush=True)
"""

PROBE_MIGRATION = '''
"""ops test: a later schema change (a column and an index on ticket)"""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ticket", sa.Column("ops_probe", sa.Integer(), nullable=True))
    op.create_index("ix_ticket_ops_probe", "ticket", ["ops_probe"])
    op.execute("UPDATE ticket SET ops_probe = version")


def downgrade() -> None:
    op.drop_index("ix_ticket_ops_probe", table_name="ticket")
    op.drop_column("ticket", "ops_probe")
'''


def _newer_scripts(tmp_path: Path) -> Path:
    """A copy of esimdesk's migrations plus one newer revision (what a newer release would ship)."""
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9001_ops_probe.py").write_text(PROBE_MIGRATION.format(head=head_revision()))
    return scripts


def _upgrade_with(scripts: Path, url: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = make_engine(url)
    try:
        cfg = Config()
        cfg.set_main_option("script_location", str(scripts))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def test_upgrade_while_a_console_works_then_old_program_refuses_cleanly(engine_url, tmp_path):
    seed(engine_url, 1, staff=1)
    console = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CONSOLE), engine_url, "4"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert console.stdout.readline().strip() == "up"
        time.sleep(0.5)
        # esimdesk's own `db upgrade` with a console running (nothing to do at head) ...
        up = subprocess.run(
            [*ESIMDESK, "--db", engine_url, "db", "upgrade"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert up.returncode == 0, up.stderr
        # ... and a real schema change, as a newer release's `db upgrade` would run it
        _upgrade_with(_newer_scripts(tmp_path), engine_url)
        out, _ = console.communicate(timeout=60)
    finally:
        if console.poll() is None:
            console.kill()
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert lines["errors"].split()[0] == "0", lines["errors"]
    assert int(lines["writes"]) > 10
    engine = make_engine(engine_url)
    try:
        assert current_revision(engine) == "9001"
        assert "ops_probe" in {c["name"] for c in inspect(engine).get_columns("ticket")}
        with engine.connect() as conn:
            version, events = conn.execute(
                text("SELECT version, (SELECT count(*) FROM ticket_event WHERE action = 'priority') FROM ticket")
            ).one()
        assert version == 1 + events == 1 + int(lines["writes"])  # nothing lost across the upgrade
    finally:
        engine.dispose()
    # this esimdesk is now older than the schema: every command says so in one line and exits 2
    for argv in (["staff", "list"], ["db", "upgrade"], ["retention"]):
        run = subprocess.run(
            [*ESIMDESK, "--db", engine_url, *argv], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 2, (argv, run.stdout, run.stderr)
        assert (
            run.stderr.count("\n") == 1 and "newer than this esimdesk" in run.stderr and "Traceback" not in run.stderr
        )


def test_unknown_revision_stamp_is_refused_in_one_line(engine_url):
    open_desk(engine_url).dispose()
    engine = make_engine(engine_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff99'"))
    engine.dispose()
    from app.errors import DeskError

    with pytest.raises(DeskError, match="newer than this esimdesk knows"):
        open_desk(engine_url)
    run = subprocess.run(
        [*ESIMDESK, "--db", engine_url, "staff", "list"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "ffff99" in run.stderr and run.stdout == ""


def test_a_desk_can_be_backed_up_whatever_its_schema_version(engine_url, tmp_path):
    """Back up before upgrading: `backup` does not insist on the current schema."""
    open_desk(engine_url).dispose()
    engine = make_engine(engine_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff99'"))
    engine.dispose()
    target = tmp_path / "before-upgrade.backup"
    run = subprocess.run(
        [*ESIMDESK, "--db", engine_url, "backup", str(target)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert target.stat().st_size > 0
