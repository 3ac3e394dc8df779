"""`esimdesk intake` and `esimdesk outbox` as processes: JSON summaries, exit codes,
a batch killed with SIGKILL and re-run, and the --watch service."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mail_helpers import DATA, eml, make_maildir
from pg_fixtures import engine_url  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path) -> dict:
    cfg = tmp_path / "config.toml"
    if not cfg.exists():
        cfg.write_text("")
    env = dict(os.environ, ESIMDESK_CONFIG=str(cfg), PYTHONPATH=str(ROOT))
    env.pop("ESIMDESK_DB", None)
    return env


def esimdesk(tmp_path: Path, *args: str, db: Path | None = None) -> subprocess.CompletedProcess:
    db = db or tmp_path / "desk.sqlite"
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", "--db", f"sqlite:///{db}", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=ROOT,
        timeout=300,
    )


def db_count(db: Path, sql: str) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_intake_prints_the_contract_summary(tmp_path):
    p = esimdesk(
        tmp_path,
        "intake",
        str(DATA / "multipart_alternative.eml"),
        str(DATA / "no_from.eml"),
        str(DATA / "complaints.mbox"),
    )
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert list(s) == ["read", "created", "linked", "duplicate", "quarantined", "items"]
    assert (s["read"], s["created"], s["linked"], s["duplicate"], s["quarantined"]) == (5, 4, 0, 0, 1)
    assert s["items"][0] == {
        "source": str(DATA / "multipart_alternative.eml"),
        "message_id": "<alt-0001@mail.example.ee>",
        "result": "created",
        "ticket": "CMP-2026-000001",
        "reason": None,
    }
    assert s["items"][1]["reason"] == "no From address"
    again = json.loads(esimdesk(tmp_path, "intake", str(DATA / "multipart_alternative.eml")).stdout)
    assert (again["read"], again["duplicate"], again["items"][0]["ticket"]) == (1, 1, "CMP-2026-000001")


def test_intake_unreadable_path_exits_2_with_one_line(tmp_path):
    p = esimdesk(tmp_path, "intake", str(DATA / "latin1.eml"), str(tmp_path / "nope.eml"))
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "nope.eml" in p.stderr and "Traceback" not in p.stderr
    p = esimdesk(tmp_path, "intake")
    assert p.returncode == 2 and "PATH" in p.stderr


def _children(pid: int) -> list[int]:
    """Live child processes of `pid` (Linux /proc)."""
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        kids += [int(k) for k in task.read_text().split()]
    return kids


def _count(url: str, sql: str) -> int:
    """One number from the desk at `url` (0 while its schema is not there yet)."""
    if url.startswith("sqlite:///"):
        return db_count(Path(url.removeprefix("sqlite:///")), sql)
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5) as con:
            return con.execute(sql).fetchone()[0]
    except psycopg.Error:
        return 0


def _indexing(url: str) -> tuple[int, ...]:
    """(search documents, filter documents, the queue filter's walk rows, tickets whose
    search document holds 'body', ids still noted for a build at commit: SQLite's
    search_pending, which must be empty between transactions; PostgreSQL notes them in a
    transaction-local setting)."""
    if url.startswith("sqlite"):
        queries = (
            "SELECT count(*) FROM search_fts",
            "SELECT count(*) FROM search_filter",
            "SELECT count(*) FROM filter_walk",
            "SELECT count(*) FROM search_fts WHERE search_fts MATCH 'body'",
            "SELECT count(*) FROM search_pending",
        )
    else:
        queries = (
            "SELECT count(*) FROM search_doc",
            "SELECT count(*) FROM search_filter",
            "SELECT count(*) FROM filter_walk",
            "SELECT count(*) FROM search_doc WHERE doc @@ to_tsquery('simple', 'body')",
            "SELECT 0",
        )
    return tuple(_count(url, sql) for sql in queries)


def test_killed_batch_rerun_loses_nothing_and_duplicates_nothing(engine_url, tmp_path):
    """Killed at any instant (here: once some groups are committed), a re-run
    gives exactly what a clean run gives, on each engine: the open group of
    messages is lost whole and ingested again, the committed ones are duplicates."""
    n = 600
    md = make_maildir(
        tmp_path / "Maildir",
        {
            f"{1795000000 + i}.M{i}.host": eml(
                f"Question number {i}",
                f"Body of message {i}",
                sender=f"c{i % 97}@example.com",
                msgid=f"<kill-{i}@example.com>",
            )
            for i in range(n)
        },
    )
    cmd = [sys.executable, "-m", "app.cli.main", "--db", engine_url, "intake", str(md)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(tmp_path), cwd=ROOT)
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline:
        committed = _count(engine_url, "SELECT count(*) FROM message")
        if committed >= 40 or proc.poll() is not None:
            break
        time.sleep(0.02)
    helpers = _children(proc.pid)  # the parse worker (and multiprocessing's tracker)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
    if len(os.sched_getaffinity(0)) > 1:
        assert helpers, "with a second CPU a 600-message batch parses ahead in a worker process"
    gone_by = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert not [pid for pid in helpers if Path(f"/proc/{pid}").exists()], "helper processes outlived the killed intake"
    before = _count(engine_url, "SELECT count(*) FROM message")
    assert 40 <= before < n
    assert _count(engine_url, "SELECT count(*) FROM ticket") == before  # each message and its ticket commit together
    # each committed ticket with its documents (built at its group's commit), nothing left noted
    assert _indexing(engine_url) == (before, before, before, before, 0)

    p = subprocess.run(
        [*cmd[:-2], "intake", str(md)], capture_output=True, text=True, env=_env(tmp_path), cwd=ROOT, timeout=300
    )
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["read"] == n and s["duplicate"] == before and s["created"] == n - before and s["quarantined"] == 0
    assert _count(engine_url, "SELECT count(*) FROM message") == n
    assert _count(engine_url, "SELECT count(DISTINCT message_id) FROM message") == n
    assert _count(engine_url, "SELECT count(*) FROM ticket") == n
    assert _count(engine_url, "SELECT count(*) FROM quarantine") == 0
    assert _indexing(engine_url) == (n, n, n, n, 0)  # every ticket found by a search, nothing left noted
    # references as a clean run issues them: one each, none skipped (the counter kept in memory by a group
    # that the kill lost was never written; the committed groups wrote theirs)
    assert _count(engine_url, "SELECT last FROM reference_counter WHERE prefix = 'INQ'") == n
    assert _count(engine_url, "SELECT count(DISTINCT reference) FROM ticket WHERE reference LIKE 'INQ-%'") == n
    assert _count(engine_url, f"SELECT count(*) FROM ticket WHERE reference LIKE 'INQ-%-{n:06d}'") == 1


def test_watch_ingests_new_mail_moves_it_to_cur_and_stops_on_sigterm(tmp_path):
    md = make_maildir(tmp_path / "Maildir", {})
    db = tmp_path / "desk.sqlite"
    esimdesk(tmp_path, "db", "upgrade", db=db)
    cmd = [
        sys.executable,
        "-m",
        "app.cli.main",
        "--db",
        f"sqlite:///{db}",
        "intake",
        "--watch",
        str(md),
        "--interval",
        "0.2",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path), cwd=ROOT
    )
    try:
        for i in range(2):
            tmpfile = md / "tmp" / f"179500000{i}.M1.host"
            tmpfile.write_bytes(eml(f"Complaint Regarding eSIM Service {i}", msgid=f"<watch-{i}@example.com>"))
            os.rename(tmpfile, md / "new" / tmpfile.name)  # how an MDA delivers
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and db_count(db, "SELECT count(*) FROM message") < i + 1:
                time.sleep(0.05)
            assert db_count(db, "SELECT count(*) FROM message") == i + 1
            line = json.loads(proc.stdout.readline())
            assert (line["read"], line["created"], line["items"][0]["message_id"]) == (1, 1, f"<watch-{i}@example.com>")
        assert sorted(p.name for p in (md / "cur").iterdir()) == ["1795000000.M1.host:2,S", "1795000001.M1.host:2,S"]
        assert list((md / "new").iterdir()) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_watch_refuses_a_folder_that_is_not_a_maildir(tmp_path):
    p = esimdesk(tmp_path, "intake", "--watch", str(tmp_path))
    assert p.returncode == 2 and "not a Maildir" in p.stderr


def test_outbox_commands(tmp_path):
    db = tmp_path / "desk.sqlite"
    f = tmp_path / "r.eml"
    f.write_bytes(eml("Refund Request", "no order number here"))
    assert esimdesk(tmp_path, "intake", str(f), db=db).returncode == 0
    listed = json.loads(esimdesk(tmp_path, "outbox", "list", db=db).stdout)["messages"]
    assert len(listed) == 1 and listed[0]["delivery"] == "queued" and listed[0]["ticket"].startswith("RFD-")
    p = esimdesk(tmp_path, "outbox", "send", db=db)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert (s["transport"], s["sent"], s["failed"]) == ("maildir", 1, 0)
    files = list((tmp_path / "outbox" / "new").iterdir())  # next to the SQLite file
    assert len(files) == 1 and listed[0]["ticket"].encode() in files[0].read_bytes()
    assert json.loads(esimdesk(tmp_path, "outbox", "list", db=db).stdout)["messages"] == []
    assert esimdesk(tmp_path, "outbox", "send", "--limit", "0", db=db).returncode == 2


def test_watch_once_for_cron(tmp_path):
    md = make_maildir(tmp_path / "Maildir", {"1.M1.host": eml("Hello", msgid="<once@example.com>")})
    (md / "cur" / "0.M0.host:2,S").write_bytes(eml("Old, already seen", msgid="<old@example.com>"))
    p = esimdesk(tmp_path, "intake", "--watch", str(md), "--once")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert (s["read"], s["created"]) == (1, 1)  # only new/ is read; cur/ holds mail already taken in
    assert sorted(x.name for x in (md / "cur").iterdir()) == ["0.M0.host:2,S", "1.M1.host:2,S"]
    assert json.loads(esimdesk(tmp_path, "intake", "--watch", str(md), "--once").stdout)["read"] == 0
    p = esimdesk(tmp_path, "intake", str(md), "--once")
    assert p.returncode == 2 and p.stdout == "" and "--once" in p.stderr


def test_attachments_are_listed_on_the_ticket_and_saved_byte_for_byte(desk, desk_url, capsys, tmp_path):
    """Evidence: `ticket show` lists the screenshot (inert name, type, size),
    `ticket attachment` writes its exact bytes; another ticket's attachment
    and a missing folder are one-line refusals (exit 2)."""
    from app.cli.main import main
    from app.identity import os_login
    from mail_helpers import add_staff

    add_staff(desk, os_login(), "agent")
    assert main(["--db", desk_url, "intake", str(DATA / "attachment_png.eml"), str(DATA / "latin1.eml")]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    with_png, other = items[0]["ticket"], items[1]["ticket"]

    assert main(["--db", desk_url, "ticket", "show", with_png]) == 0
    shown = json.loads(capsys.readouterr().out)["attachments"]
    assert [a["filename"] for a in shown][0] == "screenshot.png"
    assert all(a["content_type"] == "image/png" and a["stored"] for a in shown)
    first = shown[0]
    assert first["size"] == (DATA / "screenshot.png").stat().st_size

    out_dir = tmp_path / "evidence"
    out_dir.mkdir()
    assert main(["--db", desk_url, "ticket", "attachment", with_png, str(first["id"]), "--to", str(out_dir)]) == 0
    saved = Path(json.loads(capsys.readouterr().out)["path"])
    assert saved.parent == out_dir and saved.read_bytes() == (DATA / "screenshot.png").read_bytes()

    assert main(["--db", desk_url, "ticket", "attachment", other, str(first["id"]), "--to", str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{other} has no attachment {first['id']}" in err
    assert (
        main(["--db", desk_url, "ticket", "attachment", with_png, str(first["id"]), "--to", str(tmp_path / "nope")])
        == 2
    )
    assert "no such folder" in capsys.readouterr().err
