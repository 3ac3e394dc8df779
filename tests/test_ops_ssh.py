"""SSH deployment, end to end: a real sshd with the ForceCommand wrapper, a real
ssh client in tmux, the console's queue on screen; an unregistered account refused.

Needs root (it starts sshd and creates two throwaway OS accounts) and
/usr/sbin/sshd; skips otherwise unless ESIMDESK_REQUIRE_E2E=1.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = ROOT / "deploy" / "esimdesk-ssh"
SSHD = "/usr/sbin/sshd"
STAFF_USER = "esdtest_staff"
STRANGER = "esdtest_nobody"
GROUP = "esdtest"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("ESIMDESK_REQUIRE_E2E") == "1":
        pytest.fail(f"{reason}; ESIMDESK_REQUIRE_E2E=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)


def _esimdesk_bin() -> Path:
    found = Path(sys.executable).with_name("esimdesk")
    if found.exists():
        return found
    which = shutil.which("esimdesk")
    if which:
        return Path(which)
    _skip_or_fail("the esimdesk program is not installed next to this Python (pip install -e .)")
    raise AssertionError


def _open_path_for_others(path: Path) -> list[tuple[Path, int]]:
    """Let other accounts traverse to `path` (o+x on ancestors that lack it).

    The interpreter of a venv made from a Python under /root (mode 0700) is
    otherwise unreachable for the test accounts. Returns what to restore.
    """
    changed = []
    for p in [path, *path.parents]:
        try:
            mode = p.stat().st_mode
        except OSError:
            continue
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            os.chmod(p, stat.S_IMODE(mode) | stat.S_IXOTH)
            changed.append((p, stat.S_IMODE(mode)))
    return changed


def _user_can_run(user: str, program: Path) -> bool:
    proc = subprocess.run(["runuser", "-u", user, "--", str(program), "--help"], capture_output=True, text=True)
    return proc.returncode == 0


@pytest.fixture
def sshd_env() -> Iterator[dict]:
    if os.geteuid() != 0:
        _skip_or_fail("the SSH end-to-end test needs root (it starts sshd and creates test accounts)")
    if not os.path.exists(SSHD):
        _skip_or_fail(f"{SSHD} is missing (apt-get install openssh-server)")
    for tool in ("ssh", "ssh-keygen", "tmux", "useradd"):
        if not shutil.which(tool):
            _skip_or_fail(f"{tool} is missing")
    esimdesk = _esimdesk_bin()
    base = Path(tempfile.mkdtemp(prefix="esimdesk-ssh-"))
    os.chmod(base, 0o755)
    restore_modes: list[tuple[Path, int]] = []
    created_users: list[str] = []
    sshd = None
    sessions: list[str] = []
    try:
        subprocess.run(["groupadd", "-f", GROUP], check=True)
        for user in (STAFF_USER, STRANGER):
            subprocess.run(["userdel", "-r", user], capture_output=True)
            home = base / "home" / user
            home.parent.mkdir(exist_ok=True)
            _run("useradd", "-M", "-d", str(home), "-s", "/bin/sh", "-G", GROUP, user)
            created_users.append(user)
            _run("usermod", "-p", "*", user)  # no password, but not locked (key login allowed)
            home.mkdir()
            shutil.chown(home, user, user)
        # the program must be runnable by the staff accounts
        if not _user_can_run(STAFF_USER, esimdesk):
            restore_modes = _open_path_for_others(Path(os.path.realpath(sys.executable)).parent)
            restore_modes += _open_path_for_others(esimdesk.parent)
            if not _user_can_run(STAFF_USER, esimdesk):
                _skip_or_fail(f"{esimdesk} cannot be run by other accounts on this machine")

        # the shared desk: group-owned, setgid folder, as deploy/README.md says
        desk_dir = base / "desk"
        desk_dir.mkdir()
        shutil.chown(desk_dir, group=GROUP)
        os.chmod(desk_dir, 0o2770)
        db_url = f"sqlite:///{desk_dir / 'desk.sqlite'}"
        env = dict(os.environ, ESIMDESK_DB=db_url)
        env.pop("ESIMDESK_CONFIG", None)
        _run(str(esimdesk), "demo", "--tickets", "60", "--seed", "7", env=env)
        _run(str(esimdesk), "staff", "add", "--login", STAFF_USER, "--role", "agent", "--name", "Test Agent", env=env)
        for f in desk_dir.iterdir():
            shutil.chown(f, group=GROUP)
            os.chmod(f, 0o660)

        keys = base / "keys"
        keys.mkdir()
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "hostkey"))
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "client"))
        for user in (STAFF_USER, STRANGER):
            shutil.copy(base / "client.pub", keys / user)
            os.chmod(keys / user, 0o644)
        port = _free_port()
        config = base / "sshd_config"
        config.write_text(
            f"""Port {port}
ListenAddress 127.0.0.1
HostKey {base / "hostkey"}
PidFile {base / "sshd.pid"}
AuthorizedKeysFile {keys}/%u
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers {STAFF_USER} {STRANGER}
LogLevel VERBOSE

Match Group {GROUP}
    ForceCommand {WRAPPER}
    SetEnv ESIMDESK_DB={db_url} ESIMDESK_BIN={esimdesk}
    PermitTTY yes
    AllowTcpForwarding no
    X11Forwarding no
"""
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
        _run(SSHD, "-t", "-f", str(config))
        log = open(base / "sshd.log", "w")  # noqa: SIM115 - sshd writes to it while it runs
        sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("sshd did not start: " + (base / "sshd.log").read_text())
        yield {"base": base, "port": port, "key": base / "client", "db_url": db_url, "sessions": sessions}
    finally:
        for name in sessions:
            subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
        if sshd is not None:
            sshd.terminate()
            try:
                sshd.wait(10)
            except subprocess.TimeoutExpired:
                sshd.kill()
        for path, mode in restore_modes:
            os.chmod(path, mode)
        for user in created_users:
            _end_processes_of(user)
            subprocess.run(["userdel", user], capture_output=True)
        subprocess.run(["groupdel", GROUP], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _pids_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _end_processes_of(user: str) -> None:
    """Wait for the test account's processes (its console) to end; kill leftovers by pid."""
    import pwd
    import signal

    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return
    deadline = time.monotonic() + 5
    while _pids_of(uid) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in _pids_of(uid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _ssh_in_tmux(env: dict, user: str, name: str) -> None:
    ssh = (
        f"ssh -tt -i {env['key']} -p {env['port']} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        f"-o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR {user}@127.0.0.1; echo SSH-EXIT=$?; sleep 120"
    )
    subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    _run("tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "50", ssh)
    env["sessions"].append(name)


def _wait_screen(name: str, needles: tuple[str, ...], timeout: float = 40.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout
        if any(n in screen for n in needles):
            return screen
        time.sleep(0.3)
    return screen


def test_staff_login_gets_the_queue_and_a_stranger_is_refused(sshd_env):
    _ssh_in_tmux(sshd_env, STAFF_USER, "esd-staff")
    screen = _wait_screen("esd-staff", ("My tickets", "SSH-EXIT="))
    assert "esdtest_staff (agent)" in screen and "SSH-EXIT=" not in screen, screen  # an agent starts on My tickets
    subprocess.run(["tmux", "send-keys", "-t", "esd-staff", "9"], check=True)  # all tickets
    screen = _wait_screen("esd-staff", ("CMP-", "SSH-EXIT="))
    log = (sshd_env["base"] / "sshd.log").read_text()
    assert "CMP-" in screen, f"no queue on screen:\n{screen}\n--- sshd log ---\n{log[-2000:]}"
    assert "SSH-EXIT=" not in screen
    assert "Traceback" not in screen

    _ssh_in_tmux(sshd_env, STRANGER, "esd-stranger")
    screen = _wait_screen("esd-stranger", ("SSH-EXIT=",))
    assert "not registered as staff" in screen, screen
    assert "SSH-EXIT=2" in screen  # esimdesk's one-line refusal, passed through ssh
    assert "CMP-" not in screen and "Traceback" not in screen

    # quitting the console ends the SSH session cleanly
    subprocess.run(["tmux", "send-keys", "-t", "esd-staff", "q"], check=True)
    screen = _wait_screen("esd-staff", ("SSH-EXIT=",), timeout=20)
    assert "SSH-EXIT=0" in screen, screen


def test_wrapper_sets_the_terminal_and_refuses_commands(tmp_path):
    """The wrapper itself, run directly: environment and refusals."""
    probe = tmp_path / "probe"
    probe.write_text("#!/bin/sh\nenv\numask\n")
    probe.chmod(0o755)
    base_env = {
        "PATH": "/usr/bin:/bin",
        "TERM": "dumb",
        "ESIMDESK_DB": "sqlite:////srv/x.sqlite",
        "ESIMDESK_BIN": str(probe),
        "ESIMDESK_SSH_ENV": "/nonexistent",
    }
    out = subprocess.run([str(WRAPPER)], env=base_env, capture_output=True, text=True, check=True).stdout
    lines = set(out.splitlines())
    assert {"COLORTERM=truecolor", "TERM=xterm-256color", "ESIMDESK_DB=sqlite:////srv/x.sqlite", "0007"} <= lines
    assert any(ln.startswith("LANG=") and "UTF-8" in ln for ln in lines)

    keep = subprocess.run(
        [str(WRAPPER)], env={**base_env, "TERM": "tmux-256color"}, capture_output=True, text=True, check=True
    ).stdout
    assert "TERM=tmux-256color" in keep.splitlines()

    refused = subprocess.run(
        [str(WRAPPER)],
        env={**base_env, "SSH_ORIGINAL_COMMAND": "esimdesk backup /tmp/x"},
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "console only" in refused.stderr
    assert "COLORTERM" not in refused.stdout

    no_db = {k: v for k, v in base_env.items() if k != "ESIMDESK_DB"}
    missing = subprocess.run([str(WRAPPER)], env=no_db, capture_output=True, text=True)
    assert missing.returncode == 1 and "ESIMDESK_DB" in missing.stderr

    env_file = tmp_path / "ssh.env"
    env_file.write_text("# desk settings\nESIMDESK_DB=sqlite:////srv/from-file.sqlite\nPATH=/evil\n")
    from_file = subprocess.run(
        [str(WRAPPER)], env={**no_db, "ESIMDESK_SSH_ENV": str(env_file)}, capture_output=True, text=True, check=True
    ).stdout
    assert "ESIMDESK_DB=sqlite:////srv/from-file.sqlite" in from_file.splitlines()
    assert "PATH=/usr/bin:/bin" in from_file.splitlines()  # only esimdesk's own settings are read from the file
