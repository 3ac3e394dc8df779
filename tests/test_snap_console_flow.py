"""Snapshots: the mail preview (an acknowledgment, every field filled) and the
queue as an agent first sees it (My tickets highlighted in the 1-9 strip), at
160x50 and 80x24. Update with `pytest --snapshot-update tests/test_snap_console_flow.py`."""

from __future__ import annotations

import pytest

from app.config import DeskConfig
from console_helpers import find_ticket, make_app, open_by_filter, settle

SIZES = [(160, 50), (80, 24)]


def _ids(size):
    return f"{size[0]}x{size[1]}"


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_agent_starts_on_my_tickets_highlighted(snap_compare, demo_desk, size):
    assert snap_compare(make_app(demo_desk, "alice", config=DeskConfig()), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_mail_preview(snap_compare, demo_desk, size):
    t = find_ticket(demo_desk, kind="complaint", status="submitted")

    async def before(pilot):
        await open_by_filter(pilot, t.reference)
        await pilot.press("a")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk, "olivia"), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_choice_list_finding_as_typed(snap_compare, demo_desk, size):
    """The assign list after "gr" is typed: grace highlighted, the find shown."""
    t = find_ticket(demo_desk, kind="complaint", status="submitted")

    async def before(pilot):
        await open_by_filter(pilot, t.reference)
        await pilot.press("A", "g", "r")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk, "olivia"), terminal_size=size, run_before=before)
