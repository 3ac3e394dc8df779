"""Presence ("who else has this ticket open") and the change marker, across real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import presence
from app.change_marker import Watcher, marker
from app.db import open_desk
from app.tickets import get
from pg_fixtures import engine_url  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.concurrency_bench import seed  # noqa: E402


def _spawn(code: str, url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), url], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


HEARTBEATER = """
import sys, time
from datetime import UTC, datetime
from app import presence
from app.db import open_desk
from app.tickets import get
desk = open_desk(sys.argv[1])
with desk.reader() as s:
    tid = get(s, "CMP-{y}-900000".format(y=datetime.now(UTC).year)).id
print("up", flush=True)
while True:
    with desk.session() as s:
        presence.heartbeat(s, "console-of-bob", "agent1", tid, datetime.now(UTC))
    time.sleep(0.2)
"""


@pytest.fixture
def desk(engine_url):
    refs = seed(engine_url, 2, staff=2)
    d = open_desk(engine_url)
    d.refs = refs
    yield d
    d.dispose()


def test_presence_is_seen_across_processes_and_expires_when_a_console_dies(desk):
    with desk.reader() as s:
        tid, other = get(s, desk.refs[0]).id, get(s, desk.refs[1]).id
    proc = _spawn(HEARTBEATER, desk.url)
    try:
        assert proc.stdout.readline().strip() == "up"
        deadline = time.monotonic() + 10
        seen: list[str] = []
        while time.monotonic() < deadline and not seen:
            with desk.session() as s:
                presence.heartbeat(s, "console-of-alice", "agent0", tid, datetime.now(UTC))
                seen = presence.who_else(s, tid, "console-of-alice", datetime.now(UTC), ttl=1.0)
            time.sleep(0.1)
        assert seen == ["agent1"]
        with desk.reader() as s:
            assert presence.who_else(s, other, "console-of-alice", datetime.now(UTC), ttl=1.0) == []
            # bob sees alice too (his own session excluded)
            assert presence.who_else(s, tid, "console-of-bob", datetime.now(UTC), ttl=1.0) == ["agent0"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the console dies without saying goodbye
        proc.wait()
    time.sleep(1.3)
    with desk.session() as s:
        assert presence.who_else(s, tid, "console-of-alice", datetime.now(UTC), ttl=1.0) == []
        presence.heartbeat(s, "console-of-alice", "agent0", tid, datetime.now(UTC), ttl=timedelta(seconds=1))
    with desk.reader() as s:  # the dead console's row was cleaned up by the next heartbeat
        from sqlalchemy import select

        from models import Presence

        assert list(s.scalars(select(Presence.session_id))) == ["console-of-alice"]


def test_drop_and_ttl_boundaries(desk):
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with desk.reader() as s:
        tid = get(s, desk.refs[0]).id
    with desk.session() as s:
        presence.heartbeat(s, "a", "agent0", tid, now)
        presence.heartbeat(s, "b", "agent1", tid, now)
        presence.heartbeat(s, "b2", "agent1", tid, now)  # the same person in two consoles: listed once
    with desk.reader() as s:
        assert presence.who_else(s, tid, "a", now + timedelta(seconds=15)) == ["agent1"]
        assert presence.who_else(s, tid, "a", now + timedelta(seconds=16)) == []
    with desk.session() as s:
        presence.drop(s, "b")
        presence.drop(s, "b2")
    with desk.reader() as s:
        assert presence.who_else(s, tid, "a", now) == []
        assert presence.who_else(s, tid, None, now) == ["agent0"]


WRITER = """
import sys, time
from datetime import UTC, datetime
from app import history
from app.db import open_desk
from app.tickets import lock, touch
desk = open_desk(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
ref = "CMP-{y}-900001".format(y=datetime.now(UTC).year)
with desk.session() as s:
    t = lock(s, ref)
    t.priority = 1
    touch(t, "agent1", datetime.now(UTC))
    history.record(s, t.id, "agent1", "priority", datetime.now(UTC))
print("done", flush=True)
"""


def test_change_by_another_process_is_noticed_within_two_seconds(desk):
    watcher = Watcher()
    with desk.reader() as s:
        assert watcher.changed(s) is False  # first look only records
        assert watcher.changed(s) is False
    with desk.session() as s:  # presence traffic is not a queue change
        presence.heartbeat(s, "x", "agent0", None, datetime.now(UTC))
    with desk.reader() as s:
        assert watcher.changed(s) is False
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, desk.url], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"
        t0 = time.monotonic()
        noticed = False
        while time.monotonic() - t0 < 2.0:
            with desk.reader() as s:
                if watcher.changed(s):
                    noticed = True
                    break
            time.sleep(0.25)
        assert noticed, "the change was not noticed within 2 s"
    finally:
        proc.wait(10)
    with desk.reader() as s:
        m = marker(s)
        assert m[1] == 2 and m[2] >= 1 and m[0] is not None and m[0].tzinfo is not None
