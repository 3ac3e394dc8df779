"""Files and leaks (issue 16): backups private and never half-left, the
PostgreSQL password never on a command line, attachments never written
through a symlink or over a file, CSV safe to open, text outputs free of
terminal controls."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.backup import backup, clean_partials, libpq_args
from app.cli.main import main
from pg_fixtures import fresh_pg_database, require_pg

ROOT = Path(__file__).resolve().parents[1]


def test_backup_is_created_private_whatever_the_umask(demo_url, tmp_path):
    old = os.umask(0o022)
    try:
        out = backup(demo_url, tmp_path / "desk.backup")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(out["path"]).st_mode) == 0o600


@pytest.mark.pg
def test_pg_dump_output_is_private_and_the_password_stays_off_the_command_line(tmp_path):
    with fresh_pg_database(require_pg()) as url:
        from app.db import open_desk

        open_desk(url).dispose()
        with_password = url.replace("://postgres@", "://postgres:s3cret-pw@")
        dbname, env = libpq_args(with_password)
        assert "s3cret-pw" not in dbname and env["PGPASSWORD"] == "s3cret-pw"
        # watch the process list while a real pg_dump runs
        seen: list[str] = []
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli.main", "backup", str(tmp_path / "pg.backup")],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT), ESIMDESK_DB=with_password),
        )
        while proc.poll() is None:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    seen.append(Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace"))
                except OSError:
                    pass
            time.sleep(0.01)
        assert proc.returncode == 0
        assert any("pg_dump" in c for c in seen), "pg_dump was never seen running"
        assert not [c for c in seen if "s3cret-pw" in c]
        assert stat.S_IMODE(os.stat(tmp_path / "pg.backup").st_mode) == 0o600


def test_a_killed_backup_leaves_no_partial_file_and_old_ones_are_cleaned(demo_url, tmp_path):
    target = tmp_path / "desk.backup"
    stale = tmp_path / ".desk.backup.partial-999999"  # a run killed with SIGKILL long ago
    stale.write_bytes(b"half")
    # a backup of a big file, stopped with SIGTERM while it writes
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time, app.backup as b\n"
                "orig = b._write_sqlite_copy\n"
                "def slow(src, tmp):\n"
                "    print('writing', flush=True); time.sleep(30); return orig(src, tmp)\n"
                "b._write_sqlite_copy = slow\n"
                "b.backup(sys.argv[1], sys.argv[2])\n"
            ),
            demo_url,
            str(target),
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "writing"
    # it cleaned the stale file of the dead run as it started, and has its own
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == [f".desk.backup.partial-{proc.pid}"]
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []  # its own went with it
    stale.write_bytes(b"half")  # SIGKILL cannot be caught: the next run cleans up
    backup(demo_url, target)
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []
    assert clean_partials(target) == []


def _with_attachment(demo_desk, tmp_path) -> tuple[str, int]:
    from app.config import DeskConfig
    from app.mail.attachments import list_attachments
    from app.mail.ingest import ingest_paths
    from app.tickets import get
    from conftest import FROZEN_NOW

    eml = tmp_path / "a.eml"
    eml.write_bytes(
        b"From: Kai <kai@example.com>\nTo: complaints@esimdesk.example\nSubject: s\nMessage-ID: <att-1@example.com>\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee file\n"
        b'--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename="proof.txt"\n\nEVIDENCE\n--b--\n'
    )
    (item,) = ingest_paths(demo_desk, [eml], now=FROZEN_NOW, config=DeskConfig()).items
    with demo_desk.reader() as s:
        (att,) = list_attachments(s, get(s, item.ticket).id)
    return item.ticket, att.id


def test_attachment_is_never_written_through_a_symlink_or_over_a_file(demo_desk, tmp_path, capsys):
    reference, att = _with_attachment(demo_desk, tmp_path)
    folder = tmp_path / "out"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = folder / f"{att}-proof.txt"
    link.symlink_to(victim)
    argv = ["--db", demo_desk.url, "ticket", "attachment", reference, str(att), "--to", str(folder)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--force" in err
    assert victim.read_text() == "precious"
    assert main([*argv, "--force"]) == 0  # replaces the link itself, never writes through it
    capsys.readouterr()
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and link.read_text().strip() == "EVIDENCE"
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
    assert main(argv) == 2  # now a plain file: still not overwritten without --force
    assert "already exists" in capsys.readouterr().err


def test_csv_cells_cannot_become_formulas(demo_desk, capsys):
    from sqlalchemy import select

    from models import Ticket

    with demo_desk.session() as s:
        t = s.scalars(select(Ticket).order_by(Ticket.id)).first()
        t.region = '=HYPERLINK("http://x")'
        t.incident_date = "+1"
        reference = t.reference
    assert main(["--db", demo_desk.url, "--as", "olivia", "export", "--format", "csv"]) == 0
    rows = {r["reference"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows[reference]["region"] == '\'=HYPERLINK("http://x")'
    for row in rows.values():
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_ticket_show_strips_c1_controls_and_bidi_overrides(demo_desk, capsys):
    from sqlalchemy import select

    from models import Customer, Message, Ticket

    hostile = "pay \u009b31m here \u202eevil\u202c \x1b[2J ok\ttab\nnext"
    with demo_desk.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.customer_id.is_not(None)).order_by(Ticket.id)).first()
        t.subject = hostile
        s.get(Customer, t.customer_id).name = "Kai \u202eTamm"
        m = s.scalars(select(Message).where(Message.ticket_id == t.id)).first()
        m.body = hostile
        reference = t.reference
    assert main(["--db", demo_desk.url, "ticket", "show", reference]) == 0
    raw = capsys.readouterr().out
    for bad in ("\u009b", "\u202e", "\u202c", "\x1b"):
        assert bad not in raw and bad not in json.loads(raw)["subject"]
    shown = json.loads(raw)
    assert shown["subject"] == "pay  here evil  ok\ttab\nnext"
    assert shown["customer"]["name"] == "Kai Tamm"
    assert (
        main(["--db", demo_desk.url, "--as", "olivia", "outbox", "list", "--state", "queued", "--state", "sent"]) == 0
    )
    assert "\u202e" not in capsys.readouterr().out
