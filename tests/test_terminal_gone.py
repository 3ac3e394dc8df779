"""The console and the wall end when their terminal goes away, even where SIGHUP does not reach them.

Before app/terminal_watch.py, a console whose tmux session was killed under `make run` kept running: its input
thread read end of file in a loop (half a CPU) and the app blocked for ever on its dead output, holding its desk.
Here the console runs behind a shell that ignores SIGHUP (so it inherits the ignore), in a real tmux terminal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from app.terminal_watch import watch_terminal
from tests.test_console_e2e import _esimdesk, _wait_for

ROOT = Path(__file__).resolve().parent.parent


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has ended; its parent (tmux's pane, gone) just has not reaped it yet
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize(("command", "needle"), [("", "tickets  ·  sort: due"), ("dashboard", "Open")])
def test_a_killed_terminal_ends_the_app_that_ignores_sighup(demo_url, command, needle):
    session = f"esimdesk-hup-{uuid.uuid4().hex[:8]}"
    env_cfg = os.environ.get("ESIMDESK_CONFIG", "")
    app = f"{_esimdesk()} --db {demo_url} --as olivia {command}"
    cmd = f"cd {ROOT} && trap '' HUP && ESIMDESK_CONFIG={env_cfg} exec {app}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd], check=True)
    try:
        _wait_for(session, needle)
        pid = int(
            subprocess.run(
                ["tmux", "display", "-p", "-t", session, "#{pane_pid}"], capture_output=True, text=True
            ).stdout
        )
        ignored = int(Path(f"/proc/{pid}/status").read_text().split("SigIgn:")[1].split()[0], 16)
        assert ignored & 1, "the app runs with SIGHUP ignored, as under a wrapper that swallows it"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        spent = _cpu_seconds(pid)
        time.sleep(2)
        busy = _cpu_seconds(pid) - spent
        os.kill(pid, 9)
        pytest.fail(f"still running 15 s after its terminal went away (CPU {busy:.1f} s in 2 s)")


def test_the_watch_calls_back_on_hangup_and_ends_the_process_after_its_grace():
    leader, follower = os.openpty()
    gone, ended = threading.Event(), []
    thread = watch_terminal(follower, gone.set, grace=0.2, end=ended.append)
    assert thread is not None
    time.sleep(0.2)
    assert not gone.is_set(), "a live terminal is left alone"
    os.close(leader)
    assert gone.wait(5), "the hang-up was seen"
    thread.join(5)
    assert ended == [129], "and the process ended as SIGHUP would have, after the grace"
    os.close(follower)


def test_no_watch_without_a_terminal():
    read, write = os.pipe()
    try:
        assert watch_terminal(read, lambda: None) is None
    finally:
        os.close(read)
        os.close(write)
