"""Snapshots of the wall display at 80x24, 160x50 and 250x70 (frozen clock,
frozen demo desk)."""

from __future__ import annotations

import pytest

from app.config import DeskConfig
from app.db import open_desk
from app.identity import Actor
from app.wall import WallApp
from conftest import frozen_now


async def _loaded(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 50), (250, 70)], ids=["80x24", "160x50", "250x70"])
def test_dashboard_snapshot(snap_compare, demo_url, size):
    desk = open_desk(demo_url)
    app = WallApp(
        desk, Actor(12, "olivia", "Olivia Brown", "supervisor"), DeskConfig(), now=frozen_now, refresh_seconds=3600
    )
    try:
        assert snap_compare(app, terminal_size=size, run_before=_loaded)
    finally:
        desk.dispose()


def test_dashboard_snapshot_kiosk(snap_compare, demo_url):
    desk = open_desk(demo_url)
    app = WallApp(
        desk,
        Actor(12, "olivia", "Olivia Brown", "supervisor"),
        DeskConfig(),
        now=frozen_now,
        kiosk=True,
        refresh_seconds=3600,
    )
    try:
        assert snap_compare(app, terminal_size=(160, 50), run_before=_loaded)
    finally:
        desk.dispose()
