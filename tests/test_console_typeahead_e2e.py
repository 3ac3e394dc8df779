"""End to end in a real terminal (tmux): each burst goes in with ONE
`tmux send-keys -l`, the way a paste or a laggy SSH link delivers it, at
160x50 and at 80x24; the database says what was stored. A console killed
with SIGKILL keeps the draft typed more than two seconds earlier."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from test_console_e2e import _capture, _esimdesk, _wait_for
from test_console_typeahead import NOTE, stored_bodies, ticket_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        subprocess.run(["which", "tmux"], capture_output=True).returncode != 0, reason="tmux is not installed"
    ),
]


class Console:
    """`esimdesk` as `login` in a detached tmux session of the given size."""

    def __init__(self, url: str, login: str, size: tuple[int, int]) -> None:
        self.session = f"esimdesk-typing-{uuid.uuid4().hex[:8]}"
        cfg = os.environ.get("ESIMDESK_CONFIG", "")
        cmd = f"cd {Path(__file__).parent.parent} && ESIMDESK_CONFIG={cfg} exec {_esimdesk()} --db {url} --as {login}"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.session, "-x", str(size[0]), "-y", str(size[1]), cmd], check=True
        )

    def send(self, text: str) -> None:
        """One burst: every character in a single send-keys -l."""
        subprocess.run(["tmux", "send-keys", "-t", self.session, "-l", text], check=True)

    def wait_for(self, needle: str, timeout: float = 20.0) -> str:
        return _wait_for(self.session, needle, timeout)

    def pid(self) -> int:
        out = subprocess.run(
            ["tmux", "list-panes", "-t", self.session, "-F", "#{pane_pid}"], capture_output=True, text=True, check=True
        ).stdout
        return int(out.split()[0])

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)


def _until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    return check()


@pytest.mark.parametrize("size", [(160, 50), (80, 24)], ids=["160x50", "80x24"])
def test_bursts_open_the_ticket_and_store_the_whole_note(demo_url, demo_desk, size):
    t = ticket_for(demo_desk, "olivia", "note", kind="complaint")
    con = Console(demo_url, "olivia", size)
    try:
        con.wait_for("400 tickets")
        con.send(f"/{t.reference}\r\r")  # filter, to the first match, open it
        text = con.wait_for("Next steps")
        assert t.reference in text
        con.send("n" + NOTE + "\x13")  # n, 400 characters, ctrl+s
        assert _until(lambda: NOTE in stored_bodies(demo_desk, t.id)), _capture(con.session)
        text = con.wait_for("note added")
        assert "Next steps" in text  # back on the ticket: no letter fired an action, q did not quit
    finally:
        con.close()


def test_a_killed_console_keeps_the_draft_typed_two_seconds_earlier(demo_url, demo_desk):
    from test_console_drafts import draft_of

    t = ticket_for(demo_desk, "olivia", "reply", kind="complaint")
    typed = "Dear customer, thank you for your patience. We have reissued the profile (q? M d E)"
    con = Console(demo_url, "olivia", (160, 50))
    try:
        con.wait_for("400 tickets")
        con.send(f"/{t.reference}\r\r")
        con.wait_for("Next steps")
        con.send("r" + typed)
        con.wait_for("patience")
        time.sleep(2.0)
        os.kill(con.pid(), signal.SIGKILL)
        _until(
            lambda: subprocess.run(["tmux", "has-session", "-t", con.session], capture_output=True).returncode != 0, 5.0
        )
    finally:
        con.close()
    assert draft_of(demo_desk, "olivia", t.id, "reply") == typed
    con = Console(demo_url, "olivia", (80, 24))  # a new console: the reply prompt opens with the draft
    try:
        con.wait_for("400 tickets")
        con.send(f"/{t.reference}\r\rr")
        text = con.wait_for("your draft from before is back")
        assert "Dear customer, thank you for your patience." in text
    finally:
        con.close()


def test_a_bracketed_paste_lands_whole_in_the_note(demo_url, demo_desk):
    t = ticket_for(demo_desk, "olivia", "note", kind="complaint")
    pasted = "Pasted from the carrier ticket:\n" + NOTE + "\nEnd of paste (q? M d E)."
    con = Console(demo_url, "olivia", (80, 24))
    try:
        con.wait_for("400 tickets")
        con.send(f"/{t.reference}\r\rn")
        con.wait_for("internal note")
        subprocess.run(["tmux", "set-buffer", "-b", con.session, pasted], check=True)
        subprocess.run(["tmux", "paste-buffer", "-p", "-r", "-d", "-b", con.session, "-t", con.session], check=True)
        con.send("\x13")
        assert _until(lambda: pasted in stored_bodies(demo_desk, t.id)), _capture(con.session)
    finally:
        con.close()


def test_escape_typed_together_with_the_next_key_is_escape_then_that_key(demo_url, demo_desk):
    """A terminal sends Alt+key as ESC and the key, so an Escape arriving with
    the next key in one read was taken for Alt: Esc then 5 typed "∞" into the
    filter, Esc then / lost the Escape. Here both keys count
    (widgets/textual_compat.escape_then_key)."""
    con = Console(demo_url, "olivia", (160, 50))
    try:
        con.wait_for("400 tickets")
        con.send("/zzz\x1b5")  # filter, Escape clears it, 5 is the Breached view: one burst
        text = con.wait_for("·  Breached  ·")
        head = text.splitlines()[0]
        assert "filter:" not in head and "∞" not in text, text
        con.send("/qqq\x1b/xyz\x1b9")  # Escape then / opens the filter afresh; Escape then 9 is All
        text = con.wait_for("·  All  ·")
        assert "filter:" not in text.splitlines()[0] and "qqq" not in text and "ª" not in text, text
    finally:
        con.close()
