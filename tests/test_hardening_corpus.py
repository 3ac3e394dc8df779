"""The bad-input corpus: hundreds of bad inputs through every sub-command,
never a traceback; each refusal is exit 2 with exactly one line on stderr.

Four families, each crossed with the sub-commands it applies to:
- bad database files and URLs (a foreign file, a truncated one, one with
  damaged pages, another program's database, a read-only one, unreachable or
  malformed URLs) x every sub-command found in the parser;
- bad config files (unknown country/subdivision/time zone, nan, negative
  timeouts, unknown sections and keys, binding ids...) x every sub-command;
- bad arguments per sub-command (numbers out of range, dates out of range,
  paths that are not there or not files, deeply nested or huge JSON, over-long
  names/e-mails/subjects...), on SQLite and, marked `pg`, PostgreSQL;
- the findings of issue 16 one by one, with the line they must give.

Runs in-process (`app.cli.main.main`): an exception escaping main() fails the
test with its traceback, which is exactly what must never happen.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli.access import subcommand_paths
from app.cli.main import build_parser, main
from pg_fixtures import fresh_pg_database, require_pg
from workflow_helpers import action_cli_sample

NOW = "2026-11-23T10:00:00+00:00"
DAMAGED = "is not an esimdesk database or is damaged: restore a backup (esimdesk restore PATH)"
UI_COMMANDS = {"console", "dashboard", "serve"}  # would open a screen or a server if nothing failed first
NO_DESK = {"sla due", "refund decide"}
ALL = sorted(subcommand_paths(build_parser()))
TRIED: list[str] = []  # every input run (for the closing count)


@pytest.fixture(autouse=True)
def _no_hang():
    """A command that wrongly opened a screen or a server fails, not hangs."""
    import signal

    def _timeout(_signum, _frame):
        raise TimeoutError("a command ran on instead of refusing (a screen or server opened?)")

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(180)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """`esimdesk ARGV` in-process: (exit code, stdout, stderr)."""
    TRIED.append(" ".join(argv)[:200])
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        rc = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return rc, out, err


def refused(argv: list[str], capsys, expect: str | None = None) -> str:
    """Run ARGV; it must be refused with exit 2 and one line (containing `expect`)."""
    rc, out, err = run(argv, capsys)
    lines = err.strip().splitlines()
    assert rc == 2, (argv, rc, out[-300:], err[-600:])
    assert len(lines) == 1 and "Traceback" not in err, (argv, err[-600:])
    if expect:  # "a|b": either
        assert any(e.lower() in lines[0].lower() for e in expect.split("|")), (argv, lines[0])
    return lines[0]


def calm(argv: list[str], capsys) -> int:
    """Run ARGV; success, or a one-line refusal (exit 2): never anything else."""
    rc, _out, err = run(argv, capsys)
    assert rc in (0, 2), (argv, rc, err[-600:])
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, (argv, err[-600:])
    return rc


# -- the desks -------------------------------------------------------------------


def _demo(url: str) -> dict:
    from app.business_calendar import BusinessCalendar
    from app.db import open_desk
    from app.demo import build_demo
    from app.identity import os_login
    from models import Ticket

    d = open_desk(url)
    with d.session() as s:
        build_demo(
            s,
            60,
            7,
            datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
            BusinessCalendar("EE", None, "Europe/Tallinn"),
            login=os_login(),
        )
    with d.reader() as s:
        refs = {
            kind: s.scalars(select(Ticket.reference).where(Ticket.kind == kind).order_by(Ticket.id)).first()
            for kind in ("complaint", "refund", "inquiry")
        }
    d.dispose()
    return refs


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """A good demo desk, bad copies of it, bad backups and bad facts files."""
    root = tmp_path_factory.mktemp("corpus")
    good = root / "good.sqlite"
    refs = _demo(f"sqlite:///{good}")
    f: dict = {"root": root, "good": good, "refs": refs}
    raw = good.read_bytes()
    (root / "foreign.sqlite").write_text("hello, I am a text file and not a database at all\n" * 40)
    (root / "truncated.sqlite").write_bytes(raw[: len(raw) // 3])
    damaged = bytearray(raw)
    for off in range(8192, len(damaged) - 700, 4096 * 2):
        damaged[off : off + 600] = os.urandom(600)
    (root / "damaged.sqlite").write_bytes(bytes(damaged))
    (root / "zero-header.sqlite").write_bytes(b"\0" * 4096)
    other = sqlite3.connect(root / "other.sqlite")
    other.execute("CREATE TABLE inventory (sku TEXT, qty INTEGER)")
    other.commit()
    other.close()
    # backups: a good one, a truncated one, junk
    from app.backup import backup

    backup(f"sqlite:///{good}", root / "good.backup")
    (root / "truncated.backup").write_bytes((root / "good.backup").read_bytes()[:5000])
    (root / "junk.backup").write_bytes(b"PK\x03\x04 not a backup")
    # facts
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "digits.json").write_text('{"amount_paid": ' + "9" * 5000 + "}")
    (root / "array.json").write_text("[1, 2, 3]")
    (root / "empty.json").write_text("")
    (root / "nan.json").write_text('{"amount_paid": NaN}')
    (root / "binary.json").write_bytes(os.urandom(2048))
    (root / "big-string.json").write_text(json.dumps({"notes": "x" * 2_000_000}))
    (root / "good.json").write_text(json.dumps({"purchase_at": "2026-11-01T10:00:00Z", "amount_paid": "10.00"}))
    (root / "junk.eml").write_bytes(os.urandom(4096))
    (root / "orders.csv").write_text(
        "order_number,policy,customer_email,purchase_at,amount_paid,currency\n"
        "ORD-1234567890-ABCD,esimium,maria@example.com,2026-11-01T10:00:00Z,10.00,EUR\n"
    )
    (root / "subdir").mkdir()
    return f


def fresh_copy(files, tmp_path) -> str:
    target = tmp_path / "desk.sqlite"
    shutil.copyfile(files["good"], target)
    return f"sqlite:///{target}"


def sample_args(path: str, files: dict, tmp_path: Path) -> list[str]:
    """Plausible arguments for each sub-command (so that what fails is the
    thing under test, not a missing argument)."""
    root, refs = files["root"], files["refs"]
    cmp_ref = refs["complaint"]
    samples = {
        "serve": ["--port", "8765"],
        "demo": ["--tickets", "5", "--now", NOW],
        "staff add": ["--login", "zed", "--role", "agent"],
        "sla due": ["--start", NOW, "--days", "2", "--country", "EE"],
        "sla recompute": ["--dry-run"],
        "refund decide": ["--policy", "esimium", "--facts", str(root / "good.json")],
        "refund evidence": [refs["refund"], "--out", str(tmp_path / "ev.md")],
        "intake": [str(root / "junk.eml")],
        "backup": [str(tmp_path / "x.backup")],
        "restore": [str(root / "good.backup")],
        "ticket note": [cmp_ref, "a note"],
        "ticket reply": [cmp_ref, "a reply"],
        "ticket request-info": [cmp_ref, "your order number?"],
        "ticket final": [cmp_ref, "final words"],
        "ticket move": [cmp_ref, "investigation"],
        "ticket assign": [cmp_ref, "nobody_here"],
        "ticket escalate": [cmp_ref, "--reason", "unhappy"],
        "ticket extend": [cmp_ref, "--to", "2026-12-31", "--reason", "complex"],
        "ticket close": [cmp_ref, "--reason", "accepted"],
        "ticket triage": [cmp_ref, "network"],
        "ticket set": [cmp_ref, "name", "New Name"],
        "ticket attachment": [cmp_ref, "1", "--to", str(tmp_path)],
        "ticket merge": [cmp_ref, "--into", refs["refund"]],
        "orders import": [str(root / "orders.csv")],
        "orders lookup": ["ORD-1234567890-ABCD"],
        "orders show": ["ORD-1234567890-ABCD"],
        "outbox recall": ["1"],
        "search": ["roaming"],
        "refund acknowledge": [refs["refund"]],
        "refund approve": [refs["refund"]],
        "refund deny": [refs["refund"], "--reason", "outside the policy"],
        "refund investigation": [refs["refund"], "--result", "confirmed", "--note", "checked with the issuer"],
    }
    if path in samples:
        return samples[path]
    if path.startswith("ticket "):
        return action_cli_sample(path, cmp_ref)  # the action table's arguments
    return []


# -- 1. bad database files and URLs x every sub-command ---------------------------

BAD_DATABASES = {
    "foreign": (lambda f, t: f"sqlite:///{f['root'] / 'foreign.sqlite'}", DAMAGED),
    "truncated": (lambda f, t: f"sqlite:///{f['root'] / 'truncated.sqlite'}", DAMAGED),
    "zero-header": (lambda f, t: f"sqlite:///{f['root'] / 'zero-header.sqlite'}", DAMAGED),
    "damaged-pages": (lambda f, t: f"sqlite:///{f['root'] / 'damaged.sqlite'}", None),
    "other-program": (lambda f, t: f"sqlite:///{f['root'] / 'other.sqlite'}", "no esimdesk schema version"),
    "no-folder": (lambda f, t: "sqlite:////no/such/folder/desk.sqlite", "does not exist|no database at"),
    "folder-as-file": (lambda f, t: f"sqlite:///{f['root'] / 'subdir'}", None),
    "port-not-a-number": (lambda f, t: "postgresql://u@127.0.0.1:abc/db", "malformed database URL"),
    "unsupported-driver": (lambda f, t: "postgresql+pg8000://u@127.0.0.1/db", "unsupported database driver"),
    "mysql": (lambda f, t: "mysql://u@127.0.0.1/db", "unsupported database"),
    "not-a-url": (lambda f, t: "not a url at all", "malformed database URL"),
    "unreachable-server": (lambda f, t: "postgresql://u:secret@127.0.0.1:1/db", "cannot|failed"),
}


@pytest.mark.parametrize("command", ALL)
@pytest.mark.parametrize("bad", sorted(BAD_DATABASES))
def test_bad_database_through_every_subcommand(bad, command, files, tmp_path, capsys):
    make, expect = BAD_DATABASES[bad]
    url = make(files, tmp_path)
    if command == "restore" and bad in ("foreign", "truncated", "zero-header", "damaged-pages"):
        # the remedy the message names: restoring over a damaged file works, with --force
        target = tmp_path / "broken.sqlite"
        shutil.copyfile(url.removeprefix("sqlite:///"), target)
        line = refused(
            ["--db", f"sqlite:///{target}", "restore", str(files["root"] / "good.backup")], capsys, "--force"
        )
        assert "damaged" in line or "holds a desk" in line
        assert (
            calm(["--db", f"sqlite:///{target}", "restore", str(files["root"] / "good.backup"), "--force"], capsys) == 0
        )
        return
    argv = ["--db", url, *command.split(), *sample_args(command, files, tmp_path)]
    if command in NO_DESK:
        calm(argv, capsys)
        return
    if bad == "damaged-pages" or (bad == "folder-as-file"):
        if command in UI_COMMANDS and bad == "damaged-pages":
            pytest.skip("the header is intact: a screen would open")
        calm(argv, capsys)
        return
    if bad == "other-program" and command in ("restore", "db current", "demo", "backup"):  # root may copy any file
        calm(argv, capsys)
        return
    refused(argv, capsys, expect if command != "staff add" or bad != "other-program" else None)


def test_the_unreachable_server_password_never_shows(files, tmp_path, capsys):
    line = refused(["--db", "postgresql://u:s3cr3t-pw@127.0.0.1:1/db", "staff", "list"], capsys)
    assert "s3cr3t-pw" not in line and "***" in line


# -- 2. bad config files x every sub-command -------------------------------------

BAD_CONFIGS = {
    "country": ('[calendar]\ncountry = "XX"\n', "unknown country"),
    "subdiv": ('[calendar]\ncountry = "US"\nsubdiv = "ZZ"\n', "unknown subdivision"),
    "timezone": ('[calendar]\ntimezone = "Mars/Olympus_Mons"\n', "time zone"),
    "workweek": ("[calendar]\nworkweek = []\n", "workweek"),
    "closure": ('[calendar]\nclosures = ["2026-13-45"]\n', "closures"),
    "refresh-nan": ("[dashboard]\nrefresh_seconds = nan\n", "finite"),
    "refresh-inf": ("[dashboard]\nrefresh_seconds = inf\n", "finite"),
    "refresh-zero": ("[dashboard]\nrefresh_seconds = 0\n", "dashboard.refresh_seconds"),
    "smtp-timeout": ("[smtp]\ntimeout = -5\n", "smtp.timeout"),
    "smtp-port": ("[smtp]\nport = 70000\n", "smtp.port"),
    "smtp-port-text": ('[smtp]\nport = "25"\n', "smtp.port"),
    "smtp-tls": ('[smtp]\ntls = "maybe"\n', "smtp.tls"),
    "smtp-attempts": ("[smtp]\nmax_attempts = 0\n", "smtp.max_attempts"),
    "share": ("[sla]\nat_risk_share = 1.5\n", "at_risk_share"),
    "retention-days": ("[retention]\ndays = 99999999999\n", "retention.days"),
    "unknown-key": ("[smtp]\nhots = 'mail'\n", "unknown key smtp.hots"),
    "unknown-section": ("[smpt]\nhost = 'mail'\n", "unknown section [smpt]"),
    "section-not-table": ('smtp = "x"\n', "[smtp] must be a table"),
    "empty-key": ('[keys]\n"queue.open" = ""\n', "keys.queue.open"),
    "lock-timeout": ("[database]\nlock_timeout_seconds = -1\n", "lock_timeout_seconds"),
    "database-url": ('[database]\nurl = "mysql://x/y"\n', "unsupported database"),
    "max-sessions": ("[serve]\nmax_sessions = 0\n", "serve.max_sessions"),
    "service-accounts": ('[service]\naccounts = "esimdesk-mail"\n', "service.accounts"),
    "not-toml": ("[calendar\ncountry = \n", "not valid TOML"),
    "binary": (None, "cannot read config"),
    "missing": (False, "does not exist"),
}


@pytest.mark.parametrize("command", ALL)
@pytest.mark.parametrize("bad", sorted(BAD_CONFIGS))
def test_bad_config_through_every_subcommand(bad, command, files, tmp_path, capsys):
    text, expect = BAD_CONFIGS[bad]
    cfg = tmp_path / "config.toml"
    if text is None:
        cfg.write_bytes(b"\xff\xfe\x00garbage\x80\x81")
    elif text is not False:
        cfg.write_text(text)
    argv = [
        "--config",
        str(cfg),
        "--db",
        fresh_copy(files, tmp_path),
        *command.split(),
        *sample_args(command, files, tmp_path),
    ]
    if command in NO_DESK:
        calm(argv, capsys)  # they never read the desk's config
        return
    refused(argv, capsys, expect)


def test_unknown_binding_ids_are_refused_before_a_screen_opens(files, tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[keys]\n"queue.opne" = "o"\n')
    for command in ("console", "dashboard", "serve"):
        line = refused(["--config", str(cfg), "--db", fresh_copy(files, tmp_path), command], capsys, "queue.opne")
        assert "unknown binding id" in line


# -- 3. bad arguments per sub-command, on both engines ----------------------------

LONG = "x" * 5000


def bad_arguments(files: dict, tmp_path: Path) -> list[tuple[list[str], str | None]]:
    root, refs = files["root"], files["refs"]
    c, r = refs["complaint"], refs["refund"]
    return [
        # ticket
        (["ticket", "show", "NOPE-1"], "no ticket"),
        (["ticket", "show", ""], None),
        (["ticket", "show", "CMP-" + "9" * 300], None),
        (["ticket", "show", "\x1b[31mCMP\u202e"], None),
        (["ticket", "show", "'; DROP TABLE ticket; --"], None),
        (["ticket", "note", c, "x", "--version", "-1"], "out of range"),
        (["ticket", "note", c, "x", "--version", "99999999999999"], "out of range"),
        (["ticket", "note", c, "x", "--version", "1e3"], "invalid int"),
        (["ticket", "set", c, "name", LONG], "at most|does not look like a name"),
        (["ticket", "set", c, "email", "a" * 400 + "@example.com"], None),
        (["ticket", "set", c, "phone", "5" * 500], None),
        (["ticket", "set", c, "priority", "99999999999999999999"], None),
        (["ticket", "set", c, "priority", "nan"], None),
        (["ticket", "set", c, "no_such_field", "v"], None),
        (["ticket", "set", c, "incident_date", "0001-01-01"], None),
        (["ticket", "move", c, "no_such_state"], None),
        (["ticket", "extend", c, "--to", "0001-01-01", "--reason", "r"], None),
        (["ticket", "extend", c, "--to", "99999-01-01", "--reason", "r"], None),
        (["ticket", "extend", c, "--to", "soon", "--reason", "r"], None),
        (["ticket", "extend", c, "--to", "2026-12-31", "--reason", LONG], None),
        (["ticket", "assign", c, "nobody_at_all"], None),
        (["ticket", "assign", c, LONG], None),
        (["ticket", "close", c, "--reason", "bored"], "invalid choice"),
        (["ticket", "triage", c, "astrology"], None),
        (["ticket", "escalate", c, "--reason", LONG], None),
        (["ticket", "merge", c, "--into", LONG], "no ticket"),
        (["ticket", "merge", c, "--into", "\x1b[31mCMP\u202e"], "no ticket"),
        (["ticket", "merge", c, "--into", c], "into itself"),
        (["ticket", "merge", c, "--into", r], None),  # a refund request, maybe another customer's: refused either way
        (["ticket", "merge", c, "--into", ""], "two ticket references"),
        (["ticket", "attachment", c, "0"], "out of range"),
        (["ticket", "attachment", c, "-1"], None),
        (["ticket", "attachment", c, "99999999999999"], "out of range"),
        (["ticket", "attachment", c, "2147483647"], None),
        (["ticket", "attachment", c, "1", "--to", "/no/such/dir"], "no such folder"),
        (["ticket", "attachment", c, "1", "--to", "/proc"], None),
        # demo
        (["demo", "--tickets", "0"], "out of range"),
        (["demo", "--tickets", "-1"], "out of range"),
        (["demo", "--tickets", "999999999999"], "out of range"),
        (["demo", "--tickets", "many"], "invalid int"),
        (["demo", "--seed", "-1"], "out of range"),
        (["demo", "--now", "0001-01-01"], "out of range"),
        (["demo", "--now", "9999-12-31T23:59:59"], "out of range"),
        (["demo", "--now", "yesterday"], "ISO 8601"),
        (["demo", "--tickets", "5"], "already has"),
        # staff
        (["staff", "add", "--login", "Bad Login", "--role", "agent"], "not a valid account name"),
        (["staff", "add", "--login", "x" * 100, "--role", "agent"], None),
        (["staff", "add", "--login", "zed", "--role", "wizard"], "invalid choice"),
        (["staff", "add", "--login", "zed", "--role", "agent", "--name", LONG], None),
        (["staff", "add", "--login", "zed", "--role", "agent", "--email", "e" * 400], None),
        # export
        (["export", "--kind", "bogus"], "invalid choice"),
        (["export", "--status", "bogus"], "unknown status"),
        (["export", "--format", "xml"], "invalid choice"),
        # sla
        (["sla", "due", "--start", "garbage", "--days", "2", "--country", "EE"], "malformed --start"),
        (["sla", "due", "--start", "0001-01-01T00:00", "--days", "2", "--country", "EE"], None),
        (["sla", "due", "--start", "9999-12-31T00:00", "--days", "2", "--country", "EE"], None),
        (["sla", "due", "--start", NOW, "--days", "-1", "--country", "EE"], None),
        (["sla", "due", "--start", NOW, "--days", "999999999", "--country", "EE"], "out of range"),
        (["sla", "due", "--start", NOW, "--days", "36500", "--country", "EE"], None),
        (["sla", "due", "--start", NOW, "--days", "2", "--country", "XX"], "unknown country"),
        (["sla", "due", "--start", NOW, "--days", "2", "--country", "US", "--subdiv", "ZZ"], "unknown subdivision"),
        (["sla", "due", "--start", NOW, "--days", "2", "--country", "EE", "--tz", "Mars/Base"], "unknown timezone"),
        (
            ["sla", "due", "--start", NOW, "--days", "2", "--country", "EE", "--closed", "2026-13-01"],
            "malformed --closed",
        ),
        (["sla", "due", "--start", NOW, "--days", "2", "--country", ""], None),
        # refund
        (["refund", "decide", "--policy", "esimium", "--facts", str(root / "deep.json")], "nested too deeply"),
        (["refund", "decide", "--policy", "esimium", "--facts", str(root / "digits.json")], None),
        (["refund", "decide", "--policy", "esimium", "--facts", str(root / "array.json")], None),
        (["refund", "decide", "--policy", "esimium", "--facts", str(root / "empty.json")], None),
        (["refund", "decide", "--policy", "esimium", "--facts", str(root / "nan.json")], None),
        (["refund", "decide", "--policy", "esimium", "--facts", str(root / "binary.json")], None),
        (["refund", "decide", "--policy", "esimium", "--facts", str(root / "big-string.json")], None),
        (["refund", "decide", "--policy", "esimium", "--facts", str(root / "nope.json")], "not found"),
        (["refund", "decide", "--policy", "esimium", "--facts", str(root / "subdir")], "directory"),
        (["refund", "decide", "--policy", "esimium", "--facts", "/proc/self/mem"], None),
        (["refund", "decide", "--policy", "bogus", "--facts", str(root / "good.json")], "invalid choice"),
        (["refund", "evidence", "NOPE-1"], None),
        (["refund", "evidence", r, "--out", "/proc/x.md"], None),
        (["refund", "evidence", r, "--out", "/no/such/dir/x.md"], None),
        (["refund", "evidence", r, "--out", str(root / "subdir")], None),
        (["refund", "evidence", r, "--format", "docx"], "invalid choice"),
        # intake
        (["intake"], "at least one PATH"),
        (["intake", str(root / "nope.eml")], None),
        (["intake", str(root / "subdir")], None),
        (["intake", "/proc/self/mem"], None),
        (["intake", "--watch", str(root / "subdir")], "not a Maildir"),
        (["intake", "--watch", "/no/such/maildir"], "not a Maildir"),
        (["intake", str(root / "junk.eml"), "--once"], "--once goes with --watch"),
        (["intake", "--interval", "nan", "--watch", str(root)], "not a number"),
        (["intake", "--interval", "0", "--watch", str(root)], "out of range"),
        (["intake", "--interval", "-1", "--watch", str(root)], "out of range"),
        (["intake", "--interval", "1e308", "--watch", str(root)], "out of range"),
        # outbox
        (["outbox", "send", "--limit", "0"], "out of range"),
        (["outbox", "send", "--limit", "-1"], "out of range"),
        (["outbox", "send", "--limit", "99999999999999"], "out of range"),
        (["outbox", "list", "--limit", "nan"], "invalid int"),
        (["outbox", "list", "--state", "lost"], "invalid choice"),
        # backup / restore / retention
        (["backup", "/proc/x.bak"], None),
        (["backup", "/no/such/dir/x.bak"], "does not exist"),
        (["backup", str(root / "subdir")], "is a directory"),
        (["backup", ""], None),
        (["restore", str(root / "nope.backup")], "no backup file"),
        (["restore", str(root / "junk.backup")], "not an esimdesk backup"),
        (["restore", str(root / "subdir")], "no backup file"),
        (["restore", str(root / "truncated.backup")], None),
        (["restore", str(root / "truncated.backup"), "--force"], "damaged"),
        (["retention", "--older-than", "0"], "out of range"),
        (["retention", "--older-than", "-5"], "out of range"),
        (["retention", "--older-than", "99999999999"], "out of range"),
        (["retention", "--older-than", "abc"], "invalid int"),
        # screens and servers: refused before anything opens
        (["dashboard", "--refresh", "nan"], "--refresh must be"),
        (["dashboard", "--refresh", "0"], "--refresh must be"),
        (["dashboard", "--refresh", "-1"], "--refresh must be"),
        (["dashboard", "--refresh", "inf"], "--refresh must be"),
        (["serve", "--refresh", "1e400"], "--refresh must be"),
        (["serve", "--port", "0"], "out of range"),
        (["serve", "--port", "70000"], "out of range"),
        (["serve", "--port", "http"], "invalid int"),
        (["--as", "nobody_here", "ticket", "show", c], "not registered as staff"),
        (["db", "upgrade", "--bogus"], "unrecognized"),
        (["no-such-command"], "invalid choice"),
    ]


ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


@pytest.fixture(scope="module", params=ENGINES)
def engine_desk(request, files, tmp_path_factory):
    """The demo desk on each engine (a template; tests that write get a copy)."""
    if request.param == "sqlite":
        yield "sqlite", None
        return
    with fresh_pg_database(require_pg()) as url:
        files_refs = _demo(url)
        assert files_refs == files["refs"]
        yield "postgresql", url


def desk_for(engine_desk, files, tmp_path) -> str:
    engine, url = engine_desk
    return fresh_copy(files, tmp_path) if engine == "sqlite" else url


def test_bad_arguments_through_their_subcommands(engine_desk, files, tmp_path, capsys):
    url = desk_for(engine_desk, files, tmp_path)
    cases = bad_arguments(files, tmp_path)
    outcomes = {}
    for argv, expect in cases:
        if engine_desk[0] == "postgresql" and argv[0] in ("backup", "restore") and "--force" in argv:
            continue
        full = ["--db", url, *argv]
        if expect is None:
            outcomes[" ".join(argv)[:80]] = calm(full, capsys)
        else:
            refused(full, capsys, expect)
    # every one of these is refused (none is fine input) except where noted
    accepted = sorted(k for k, rc in outcomes.items() if rc == 0)
    assert (
        set(accepted)
        <= {
            f"refund decide --policy esimium --facts {files['root'] / 'big-string.json'}"[:80],
            f"sla due --start {NOW} --days 36500 --country EE"[:80],
            f"intake {files['root'] / 'subdir'}"[:80],
            "intake /proc/self/mem"[:80],
            f"ticket set {files['refs']['complaint']} priority 99999999999999999999"[:80],
            f"ticket set {files['refs']['complaint']} incident_date 0001-01-01"[:80],  # kept as the customer said it
            f"ticket extend {files['refs']['complaint']} --to 2026-12-31 --reason {LONG}"[:80],  # free text, no limit
        }
        | {k for k in outcomes if k.startswith(("ticket show", "refund evidence")) or "--to /proc" in k}
        | {k for k in outcomes if k.startswith("sla due")}
    ), accepted


def test_over_long_values_are_one_line_on_both_engines(engine_desk, files, tmp_path, capsys):
    """PostgreSQL would raise StringDataRightTruncation mid-write: each
    over-long value is refused before the write, naming the field and limit."""
    url = desk_for(engine_desk, files, tmp_path)
    c = files["refs"]["complaint"]
    for field, limit in (("name", 300), ("email", 320), ("phone", 64)):
        value = (
            ("a" * (limit + 5) + "@example.com")
            if field == "email"
            else "9" * (limit + 5)
            if field == "phone"
            else "N" * (limit + 5)
        )
        line = refused(["--db", url, "ticket", "set", c, field, value], capsys)
        assert any(w in line for w in ("at most", "malformed", "does not look like")), line
        assert len(line) < 600  # the value is not echoed whole
    line = refused(
        ["--db", url, "staff", "add", "--login", "lena", "--role", "agent", "--name", "L" * 201], capsys, "at most 200"
    )
    assert "staff.name" in line


# -- 4. the findings of issue 16, one by one -------------------------------------


def test_finding_db_upgrade_on_tables_without_a_schema_version(files, tmp_path, capsys):
    refused(
        ["--db", f"sqlite:///{files['root'] / 'other.sqlite'}", "db", "upgrade"], capsys, "no esimdesk schema version"
    )


def test_finding_read_only_database_is_one_line(files, tmp_path, capsys):
    path = Path(fresh_copy(files, tmp_path).removeprefix("sqlite:///"))
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    line = refused(["--db", url, "ticket", "note", files["refs"]["complaint"], "hello"], capsys)
    assert "read-only" in line or "readonly" in line


def test_finding_the_corpus_is_large(files):
    """The closing count: inputs tried so far in this module (the crosses run first)."""
    assert len(ALL) >= 30
    print(f"\ncorpus: {len(TRIED)} inputs tried in this process, 0 tracebacks")
