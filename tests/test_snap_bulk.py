"""Snapshots of issue 20's points 3 and 4 at 160x50 and 80x24: unread marks
(one cleared by opening its ticket), the Replied view, tagged rows, the bulk
confirmation and its result list with a refusal. Update with
`pytest --snapshot-update tests/test_snap_bulk.py`."""

from __future__ import annotations

import pytest

from console_helpers import make_app, settle
from test_console_bulk import customer_writes, note_by, tag_refs, tickets_where
from typing_helpers import burst

SIZES = [(160, 50), (80, 24)]


def _ids(size):
    return f"{size[0]}x{size[1]}"


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_unread_marks_one_cleared_by_opening(snap_compare, demo_desk, size):
    async def before(pilot):
        await settle(pilot)
        await burst(pilot, "down", "down", "enter")  # open the third row...
        await settle(pilot)
        await burst(pilot, "escape")  # ...and back: its mark is gone, the others stay
        await settle(pilot)

    assert snap_compare(make_app(demo_desk, "alice"), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_replied_view(snap_compare, demo_desk, size):
    for n, t in enumerate(tickets_where(demo_desk, 2, kind="complaint", status="investigation")):
        note_by(demo_desk, "alice", t.reference, minutes=1)
        customer_writes(demo_desk, t.reference, minutes=5 + n)

    async def before(pilot):
        await settle(pilot)
        await burst(pilot, "0")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_tagged_rows(snap_compare, demo_desk, size):
    async def before(pilot):
        await settle(pilot)
        await burst(pilot, "t", "down", "t", "space")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)


def _close_keys(demo_desk) -> list[str]:
    ok, other = tickets_where(demo_desk, 2, kind="complaint", status="acknowledged")
    [refund] = tickets_where(demo_desk, kind="refund", status="submitted")
    return [*tag_refs(ok.reference, refund.reference, other.reference), "c", "down", "down", "enter"]


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_bulk_confirmation(snap_compare, demo_desk, size):
    keys = _close_keys(demo_desk)

    async def before(pilot):
        await settle(pilot)
        await burst(pilot, *keys)
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_bulk_triage_confirmation_shows_a_customers_mail(snap_compare, demo_desk, size):
    inquiries = tickets_where(demo_desk, 2, kind="inquiry", status="submitted")
    keys = [*tag_refs(*(t.reference for t in inquiries)), ";", "down", "enter", "enter"]

    async def before(pilot):
        await settle(pilot)
        await burst(pilot, *keys)
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_snap_bulk_results_with_refusals(snap_compare, demo_desk, size):
    keys = _close_keys(demo_desk)

    async def before(pilot):
        await settle(pilot)
        await burst(pilot, *keys, "enter")
        await settle(pilot)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)
