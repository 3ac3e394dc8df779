"""Snapshots of every console screen at 160x50 and 80x24 (frozen demo desk,
frozen clock). Update with `pytest --snapshot-update tests/test_snap_console_screens.py`."""

from __future__ import annotations

import pytest

from console_helpers import find_ticket, make_app, open_by_filter, settle

SIZES = [(160, 50), (80, 24)]


def _ids(size):
    return f"{size[0]}x{size[1]}"


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_queue(snap_compare, demo_desk, size):
    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_queue_breached_view_filtered(snap_compare, demo_desk, size):
    async def before(pilot):
        await settle(pilot)
        await pilot.press("5", "slash", "c", "m", "p")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_ticket_detail(snap_compare, demo_desk, size):
    t = find_ticket(demo_desk, kind="complaint", status="investigation")

    async def before(pilot):
        await open_by_filter(pilot, t.reference)

    assert snap_compare(make_app(demo_desk, "alice"), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_escalation_queue(snap_compare, demo_desk, size):
    async def before(pilot):
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk, "sofia"), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_quarantine(snap_compare, demo_desk, size):
    async def before(pilot):
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_help(snap_compare, demo_desk, size):
    async def before(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_note_prompt(snap_compare, demo_desk, size):
    t = find_ticket(demo_desk, kind="complaint", status="acknowledged")

    async def before(pilot):
        await open_by_filter(pilot, t.reference)
        await pilot.press("n", *list("Called the carrier."))
        await settle(pilot)

    assert snap_compare(make_app(demo_desk, "alice"), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_hostile_text_is_inert(snap_compare, demo_desk, size):
    """Customers named with markup and ESC sequences: shown as plain text, the app keeps running."""

    async def before(pilot):
        await settle(pilot)
        await pilot.press("slash", *list("Mallory"))
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)
