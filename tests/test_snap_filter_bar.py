"""Snapshots of the queue's one-line filter bar: the typed text, the number
of matches, right above the table (160x50 and 80x24). Update with
`pytest --snapshot-update tests/test_snap_filter_bar.py` and look at the SVGs."""

from __future__ import annotations

import pytest

from console_helpers import make_app, settle
from typing_helpers import burst

SIZES = [(160, 50), (80, 24)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snap_filter_bar_typing(snap_compare, demo_desk, size):
    async def before(pilot):
        await settle(pilot)
        await burst(pilot, "/", "tokyo")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snap_filter_bar_on_the_first_match(snap_compare, demo_desk, size):
    async def before(pilot):
        await settle(pilot)
        await burst(pilot, "/", "CMP-2026-000002", "enter")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)
