"""Keys typed while the console starts reach its first screen as typed
(app.start_keys), on a real pseudo-terminal and in real tmux."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import termios
import time

import pytest

from app.cli.main import SCREENS, _command_word
from app.start_keys import can_push_back, hold_start_keys


def _read_ready(fd: int, timeout: float = 2.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            got += os.read(fd, 1024)
        elif got:
            break
    return got


@pytest.fixture
def terminal():
    master, slave = pty.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


def test_a_held_terminal_keeps_enter_and_echoes_nothing(terminal):
    master, slave = terminal
    before = termios.tcgetattr(slave)
    assert before[0] & termios.ICRNL and before[3] & termios.ICANON  # a fresh terminal: line mode
    hold = hold_start_keys(slave)
    assert hold is not None
    os.write(master, b"/RFD-2026-000215\r\rA")
    # readable at once, before any newline would end a line, and Enter is still CR (not ctrl+j)
    assert _read_ready(slave) == b"/RFD-2026-000215\r\rA"
    assert _read_ready(master, timeout=0.3) == b""  # nothing echoed over the shell's screen
    hold.release()
    assert termios.tcgetattr(slave) == before
    hold.release()  # twice is harmless (atexit calls it again)


def test_line_mode_is_what_loses_enter(terminal):
    """What the hold prevents: the same burst in the terminal's own mode turns Enter into a newline."""
    master, slave = terminal
    os.write(master, b"/x\r")
    assert _read_ready(slave) == b"/x\n"


def _child_reads_after_hold(burst: bytes) -> bytes:
    """In a child whose controlling terminal is a fresh pty: `burst` is typed
    before the hold (line mode, as while the shell starts `esimdesk`), then the
    hold, then what the child can read."""
    r, w = os.pipe()
    pid, master = pty.fork()
    if pid == 0:  # the child: its stdin is the pty's terminal
        os.close(r)
        try:
            while not select.select([0], [], [], 5)[0]:  # the burst is in (a whole line)
                pass
            time.sleep(0.1)  # and the rest after its newline
            hold_start_keys(0)
            os.write(w, _read_ready(0, timeout=1.0))
        finally:
            os._exit(0)
    os.close(w)
    try:
        os.write(master, burst)
        got = b""
        while chunk := os.read(r, 1024):
            got += chunk
        return got
    finally:
        os.close(r)
        os.waitpid(pid, 0)
        os.close(master)


def test_keys_typed_before_the_hold_get_their_enter_back():
    """Typed while the shell still starts the command: line mode has already
    made Enter a newline; the hold puts the keys back as they were typed."""
    if not can_push_back_here():
        pytest.skip("this kernel does not let a program put keys back on its terminal (dev.tty.legacy_tiocsti)")
    assert _child_reads_after_hold(b"/RFD-2026-000215\r\rAb") == b"/RFD-2026-000215\r\rAb"


def can_push_back_here() -> bool:
    try:
        with open("/proc/sys/dev/tty/legacy_tiocsti") as f:
            return f.read().strip() != "0" or os.geteuid() == 0
    except FileNotFoundError:
        return True


def test_a_terminal_that_is_not_ours_is_never_pushed_into(terminal):
    _master, slave = terminal
    assert not can_push_back(slave)  # not this process's controlling terminal


def test_ctrl_c_still_interrupts_a_start(terminal):
    _master, slave = terminal
    hold_start_keys(slave)
    mode = termios.tcgetattr(slave)
    assert mode[3] & termios.ISIG


def test_no_terminal_no_hold(tmp_path):
    with open(tmp_path / "f", "w") as f:
        assert hold_start_keys(f.fileno()) is None
    r, w = os.pipe()
    try:
        assert hold_start_keys(r) is None
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        ([], None),
        (["--db", "sqlite:///x", "--as", "olivia"], None),
        (["console"], "console"),
        (["--as", "sam", "dashboard", "--kiosk"], "dashboard"),
        (["--config", "console", "export"], "export"),
    ],
)
def test_only_the_screens_hold_the_terminal(argv, word):
    """The command word main() decides by (a --db or --config value is no command)."""
    assert _command_word(argv) == word
    assert (word in SCREENS) == (word != "export")


def _is_python(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"python" in f.read().split(b"\0")[0]
    except OSError:
        return False


@pytest.mark.e2e
@pytest.mark.skipif(
    subprocess.run(["which", "tmux"], capture_output=True).returncode != 0, reason="tmux is not installed"
)
def test_a_burst_typed_as_the_console_starts_opens_the_ticket(demo_url, demo_desk):
    """The burst goes in as soon as `esimdesk` runs, long before the first
    screen: the filter, Enter to its first match and Enter to open it."""
    from test_console_typeahead import ticket_for
    from test_console_typeahead_e2e import Console

    t = ticket_for(demo_desk, "olivia", "note", kind="complaint")
    con = Console(demo_url, "olivia", (160, 50))
    try:
        tty = subprocess.run(
            ["tmux", "display", "-p", "-t", con.session, "#{pane_tty}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        fd = os.open(tty, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            pid = con.pid()
            started = None
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if started is None and _is_python(pid):  # `exec esimdesk` has replaced the shell
                    started = time.monotonic()
                # the hold is in (line mode off), or Python has run for 0.15 s: the
                # first screen (raw mode) is still ~0.3 s away either way
                if started is not None and (
                    not termios.tcgetattr(fd)[3] & termios.ICANON or time.monotonic() - started > 0.15
                ):
                    break
                time.sleep(0.002)
        finally:
            os.close(fd)
        con.send(f"/{t.reference}\r\r")
        text = con.wait_for("Next steps")
        assert t.reference in text
    finally:
        con.close()


@pytest.mark.e2e
@pytest.mark.skipif(
    subprocess.run(["which", "tmux"], capture_output=True).returncode != 0, reason="tmux is not installed"
)
def test_a_burst_typed_with_the_command_opens_the_ticket(demo_url, demo_desk):
    """The burst goes in the moment the command is entered, before the shell
    has even started `esimdesk` (as `clear; esimdesk` then typing ahead did in
    tmux: the filter stayed open with the Enters lost)."""
    if not can_push_back_here():
        pytest.skip("this kernel does not let a program put keys back on its terminal (dev.tty.legacy_tiocsti)")
    from test_console_typeahead import ticket_for
    from test_console_typeahead_e2e import Console

    t = ticket_for(demo_desk, "olivia", "note", kind="complaint")
    con = Console(demo_url, "olivia", (160, 50))
    try:
        con.send(f"/{t.reference}\r\r")
        text = con.wait_for("Next steps")
        assert t.reference in text
    finally:
        con.close()
