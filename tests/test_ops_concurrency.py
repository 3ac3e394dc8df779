"""Eight agent processes on the same tickets at once: nothing lost, nothing locked."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for bench/
from app.db import open_desk
from app.errors import StaleTicket
from app.tickets import lock, touch
from bench.concurrency_bench import run_agents, seed, verify
from pg_fixtures import engine_url  # noqa: F401  (fixture)


def test_eight_processes_lose_no_update(engine_url):
    res = run_agents(engine_url, workers=8, actions=20, tickets=3)
    assert verify(engine_url, res) == []
    assert res["errors"] == [] and res["locked"] == 0
    assert res["successes"] + res["refused"] == 8 * 20  # every attempt ended in a success or a refusal
    assert res["refused"] <= 8 * 20 // 2  # only repeated acknowledgements are refused
    assert res["successes"] == sum(res["ok_by_ref"].values())


def test_stale_version_is_refused_and_nothing_overwritten(engine_url):
    ref = seed(engine_url, 1, staff=1)[0]
    desk = open_desk(engine_url)
    try:
        now = datetime.now(UTC)
        with desk.session() as s:
            t = lock(s, ref, 1)
            t.priority = 1
            touch(t, "agent0", now)
        with pytest.raises(StaleTicket) as info, desk.session() as s:
            t = lock(s, ref, 1)  # read before the change above
            t.priority = 3
            touch(t, "agent1", now)
        assert "agent0" in str(info.value)
        with desk.reader() as s:
            t = lock(s, ref)
            assert (t.version, t.priority, t.updated_by) == (2, 1, "agent0")
    finally:
        desk.dispose()
