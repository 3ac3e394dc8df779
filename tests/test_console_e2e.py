"""End to end: the real `esimdesk` in a real terminal (tmux), read off the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


def _esimdesk() -> str:
    exe = Path(sys.executable).parent / "esimdesk"
    return str(exe) if exe.exists() else f"{sys.executable} -m app.cli.main"


def _capture(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True).stdout


def _wait_for(session: str, needle: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = _capture(session)
        if needle in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not on screen after {timeout}s:\n{text}")


def test_esimdesk_opens_the_queue_in_tmux(demo_url, tmp_path):
    session = f"esimdesk-e2e-{uuid.uuid4().hex[:8]}"
    env_cfg = os.environ.get("ESIMDESK_CONFIG", "")
    cmd = f"cd {Path(__file__).parent.parent} && ESIMDESK_CONFIG={env_cfg} {_esimdesk()} --db {demo_url} --as olivia"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", cmd], check=True)
    try:
        text = _wait_for(session, "tickets  ·  sort: due")
        assert "olivia (supervisor)" in text and "Reference" in text
        text = _wait_for(session, "400 tickets")
        assert "CMP-2026-" in text or "RFD-2026-" in text
        subprocess.run(["tmux", "send-keys", "-t", session, "5"], check=True)
        text = _wait_for(session, "Breached  ·")
        assert "BREACHED" in text
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        text = _wait_for(session, "Next steps")
        assert "esc Back" in text
        subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)
        _wait_for(session, "Breached  ·")
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0
            if not alive:
                break
            time.sleep(0.2)
        assert not alive, "q quits the console"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
