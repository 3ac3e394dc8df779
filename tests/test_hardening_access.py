"""Every sub-command that reads or writes desk data needs a staff identity
with the right role; intake and outbox delivery may also run under a
configured service account ([service] accounts). Runs the CLI under a real
unprivileged OS account (a forked child that drops to `nobody`), so the
identity is the process's real uid, as in production."""

from __future__ import annotations

import importlib
import io
import os
import pkgutil
import pwd
import shutil
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from app.cli.access import COMMAND_ACCESS, NO_DESK, subcommand_paths
from app.cli.main import build_parser, main
from workflow_helpers import action_cli_sample

ALL = sorted(subcommand_paths(build_parser()))
NOBODY = "nobody"

pytestmark = pytest.mark.skipif(
    os.getuid() != 0 or not hasattr(os, "fork"), reason="needs root to drop to another account"
)


def test_every_subcommand_has_an_access_rule():
    """A new sub-command must say who may run it (app/cli/access.py)."""
    assert [p for p in ALL if p not in COMMAND_ACCESS] == []
    assert [p for p in COMMAND_ACCESS if p not in ALL] == []


def _preload() -> None:
    """Import what the commands import lazily: the child runs as an account
    that cannot read this interpreter's install (under /root)."""
    for package in ("app", "models"):
        pkg = importlib.import_module(package)
        for info in pkgutil.walk_packages(pkg.__path__, package + "."):
            if ".migrations." not in info.name:
                importlib.import_module(info.name)
    for name in (
        "sqlalchemy.dialects.sqlite",
        "sqlalchemy.dialects.postgresql.psycopg",
        "alembic.runtime.migration",
        "alembic.script",
        "alembic.command",
        "holidays",
        "email.policy",
        "json",
        "csv",
        "sqlite3",
        "encodings.idna",
        "encodings.latin_1",
        "encodings.cp1252",
        "zoneinfo",
    ):
        importlib.import_module(name)
    from app.business_calendar import BusinessCalendar

    BusinessCalendar("EE", None, "Europe/Tallinn").add_business_days(
        __import__("datetime").datetime(2026, 11, 23, 10), 2
    )


def as_user(argv: list[str], login: str = NOBODY) -> tuple[int, str, str]:
    """`esimdesk ARGV` in a child process whose real uid is `login`'s."""
    user = pwd.getpwnam(login)
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges for good, run, report
        code = 70
        try:
            os.setgroups([])
            os.setresgid(user.pw_gid, user.pw_gid, user.pw_gid)
            os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)
            out, err = io.StringIO(), io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 2
                except BaseException as exc:  # noqa: BLE001 - reported to the parent as a failure
                    import traceback

                    err.write("ESCAPED " + "".join(traceback.format_exception(exc)))
                    code = 99
            os.write(out_w, (out.getvalue() + "\0" + err.getvalue()).encode("utf-8", "replace"))
        finally:
            os._exit(code)
    os.close(out_w)
    chunks = []
    while chunk := os.read(out_r, 65536):
        chunks.append(chunk)
    os.close(out_r)
    _, status = os.waitpid(pid, 0)
    out, _, err = b"".join(chunks).decode().partition("\0")
    return os.waitstatus_to_exitcode(status), out, err


@pytest.fixture(scope="module")
def shared(_demo_template):
    """A copy of the demo desk in a folder the unprivileged account can use."""
    _preload()
    folder = Path(tempfile.mkdtemp(prefix="esimdesk-access-"))
    folder.chmod(0o777)
    (folder / "empty.toml").write_text("")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def desk_url(shared, monkeypatch):
    target = shared / "desk.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(_template_path(), target)
    target.chmod(0o666)
    monkeypatch.setenv("ESIMDESK_CONFIG", str(shared / "empty.toml"))
    return f"sqlite:///{target}"


_TEMPLATE: list[Path] = []


def _template_path() -> Path:
    return _TEMPLATE[0]


@pytest.fixture(scope="module", autouse=True)
def _remember_template(_demo_template):
    _TEMPLATE[:] = [_demo_template]


def _args(path: str, shared: Path, reference: str) -> list[str]:
    eml = shared / "mail.eml"
    eml.write_text(
        "From: a@example.com\nTo: complaints@esimdesk.example\nSubject: hi\nMessage-ID: <access-1@example.com>\n\nNo service.\n"
    )
    eml.chmod(0o644)
    samples = {
        "serve": ["--port", "8765"],
        "staff add": ["--login", "zed", "--role", "admin"],
        "refund evidence": [reference, "--out", str(shared / "ev.md")],
        "intake": [str(eml)],
        "backup": [str(shared / "x.backup")],
        "restore": [str(shared / "x.backup"), "--force"],
        "retention": ["--apply"],
        "demo": ["--tickets", "5"],
        "ticket note": [reference, "n"],
        "ticket reply": [reference, "r"],
        "ticket request-info": [reference, "?"],
        "ticket final": [reference, "f"],
        "ticket move": [reference, "investigation"],
        "ticket assign": [reference, "olivia"],
        "ticket escalate": [reference, "--reason", "x"],
        "ticket extend": [reference, "--to", "2026-12-31", "--reason", "x"],
        "ticket close": [reference, "--reason", "accepted"],
        "ticket triage": [reference, "network"],
        "ticket set": [reference, "name", "X"],
        "ticket attachment": [reference, "1", "--to", str(shared)],
        "ticket merge": [reference, "--into", reference],
        "orders import": [str(eml)],
        "orders lookup": ["ORD-1234567890-ABCD"],
        "orders show": ["ORD-1234567890-ABCD"],
        "outbox recall": ["1"],
        "search": ["roaming"],
        "refund acknowledge": [reference],
        "refund approve": [reference],
        "refund deny": [reference, "--reason", "x"],
        "refund investigation": [reference, "--result", "confirmed", "--note", "x"],
    }
    if path in samples:
        return samples[path]
    return action_cli_sample(path, reference) if path.startswith("ticket ") else []  # the action table's arguments


def _reference(url: str, kind: str = "complaint") -> str:
    from sqlalchemy import select

    from app.db import open_desk
    from models import Ticket

    d = open_desk(url)
    with d.reader() as s:
        ref = s.scalars(select(Ticket.reference).where(Ticket.kind == kind).order_by(Ticket.id)).first()
    d.dispose()
    return ref


def _backup_for_restore(url: str, shared: Path) -> None:
    from app.backup import backup

    backup(url, shared / "x.backup")
    (shared / "x.backup").chmod(0o644)


@pytest.mark.parametrize("command", [p for p in ALL if COMMAND_ACCESS.get(p) != NO_DESK])
def test_an_account_with_no_staff_record_gets_a_refusal_and_no_data(command, desk_url, shared):
    reference = _reference(desk_url, "refund" if command == "refund evidence" else "complaint")
    if command == "restore":
        _backup_for_restore(desk_url, shared)
    rc, out, err = as_user(["--db", desk_url, *command.split(), *_args(command, shared, reference)])
    assert "ESCAPED" not in err, err
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, (command, rc, err)
    assert out == "", (command, out[:300])
    expected = (
        "already has" if command == "demo" else "not registered as staff" if command != "staff add" else "may not"
    )
    assert expected in lines[0] or "not registered as staff" in lines[0], (command, lines[0])


def _add_staff(url: str, login: str, role: str) -> None:
    from app.db import open_desk
    from app.staff import add_staff
    from app.tickets import utcnow

    d = open_desk(url)
    with d.session() as s:
        add_staff(s, login, role, None, utcnow())
    d.dispose()


@pytest.mark.parametrize(
    "command, allowed",
    [
        ("intake", False),
        ("outbox send", False),
        ("sla recompute", False),
        ("db upgrade", False),
        ("staff add", False),
        ("backup", False),
        ("retention", False),
        ("export", False),
        ("dashboard", False),
        ("outbox list", True),
        ("ticket show", True),
        ("staff list", True),
        ("ticket note", True),
    ],
)
def test_an_agent_runs_what_agents_may(command, allowed, desk_url, shared):
    _add_staff(desk_url, NOBODY, "agent")
    reference = _reference(desk_url)
    rc, out, err = as_user(["--db", desk_url, *command.split(), *_args(command, shared, reference)])
    assert "ESCAPED" not in err, err
    if allowed:
        assert rc == 0, (command, err)
    else:
        assert rc == 2 and len(err.strip().splitlines()) == 1 and out == "", (command, err)
        assert "may not" in err and "nobody (agent)" in err, err


def test_a_service_account_takes_in_mail_and_sends_but_reads_nothing_else(desk_url, shared, monkeypatch):
    cfg = shared / "service.toml"
    cfg.write_text(f'[service]\naccounts = ["{NOBODY}"]\n[outbox]\nmaildir = "{shared / "outbox"}"\n')
    cfg.chmod(0o644)
    monkeypatch.setenv("ESIMDESK_CONFIG", str(cfg))
    reference = _reference(desk_url)
    for command in ("intake", "outbox send"):
        rc, out, err = as_user(["--db", desk_url, *command.split(), *_args(command, shared, reference)])
        assert rc == 0 and out.startswith("{"), (command, err)
    for command in ("ticket show", "outbox list", "export", "staff list"):
        rc, out, err = as_user(["--db", desk_url, *command.split(), *_args(command, shared, reference)])
        assert rc == 2 and out == "" and "not registered as staff" in err, (command, err)


def test_a_brand_new_desk_is_open_to_its_first_user(shared, monkeypatch):
    """Bootstrap: with no staff at all, the OS account sets the desk up (as
    `staff add` allows); the first staff record closes that door."""
    monkeypatch.setenv("ESIMDESK_CONFIG", str(shared / "empty.toml"))
    url = f"sqlite:///{shared / 'new.sqlite'}"
    for suffix in ("", "-wal", "-shm"):
        Path(str(shared / "new.sqlite") + suffix).unlink(missing_ok=True)
    rc, out, err = as_user(["--db", url, "outbox", "list"])
    assert rc == 0, err  # nobody is staff yet: the OS account may look
    rc, out, err = as_user(["--db", url, "staff", "add", "--login", "ann", "--role", "admin"])
    assert rc == 0, err
    rc, out, err = as_user(["--db", url, "outbox", "list"])
    assert rc == 2 and out == "" and "not registered as staff" in err


def test_intake_of_a_folder_the_account_cannot_enter_is_one_line(desk_url, shared, monkeypatch):
    locked = shared / "locked"
    locked.mkdir(exist_ok=True)
    (locked / "a.eml").write_text("From: a@example.com\nSubject: x\n\nhi\n")
    locked.chmod(0o700)  # root's only
    cfg = shared / "service.toml"
    cfg.write_text(f'[service]\naccounts = ["{NOBODY}"]\n')
    cfg.chmod(0o644)
    monkeypatch.setenv("ESIMDESK_CONFIG", str(cfg))
    for path in (locked, locked / "a.eml"):
        rc, out, err = as_user(["--db", desk_url, "intake", str(path)])
        assert "ESCAPED" not in err and "Traceback" not in err, err
        assert rc in (0, 2) and len(err.strip().splitlines()) <= 1, (rc, err)
        if rc == 0:  # the summary names the unreadable path instead
            assert "ermission" in out or "cannot" in out, out
