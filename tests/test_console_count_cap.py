"""The queue counts at most its cap + 1 tickets (app.queue_query.COUNT_CAP):
past the cap the title and the filter bar say "N+", and the table still
reaches every row (it grows as rows past the count come in); and the
table's height in rows follows each count without a layout of the screen."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from app import queue_query as qq
from conftest import FROZEN_NOW
from console_helpers import make_app, settle
from widgets import ticket_table


@pytest.fixture(autouse=True)
def short_margins(monkeypatch):
    """Fetch few rows beyond the screen: the demo desk's 400 tickets would
    otherwise all come in with the first window (the count then exact)."""
    monkeypatch.setattr(ticket_table, "AHEAD", 30)
    monkeypatch.setattr(ticket_table, "BEHIND", 30)
    monkeypatch.setattr(ticket_table, "CHUNK", 30)


def _title(screen) -> str:
    return str(screen.query_one("#queue-title", Static).render())


async def test_past_the_cap_the_queue_says_n_plus_and_still_reaches_the_last_row(demo_desk):
    with demo_desk.reader() as s:
        every = [r.id for r in qq.page(s, qq.QueueQuery(view="all"), FROZEN_NOW, 0, 100_000)]
    assert len(every) > 300
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert f"{len(every):,} tickets" in _title(screen)  # under the cap: the exact count
        screen.count_cap = 100
        screen.action_view("all")
        await settle(pilot)
        table = screen.table
        assert "100+ tickets" in _title(screen)
        assert table.count_more
        for _ in range(25):  # end, again and again: each time the rows past it come in
            await pilot.press("end")
            await settle(pilot)
        assert table.row_count == len(every)
        assert table.current is not None and table.current.id == every[-1]
        assert "100+ tickets" in _title(screen)


async def test_the_filter_bar_says_n_plus_matches_past_the_cap_and_the_exact_count_below(demo_desk):
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.count_cap = 20
        await pilot.press("slash", *"cmp")
        await settle(pilot)
        bar = screen.query_one("#queue-filter-count", Static)
        assert str(bar.render()).strip().startswith("20+ matches · enter: first")
        assert "20+ tickets" in _title(screen)
        with demo_desk.reader() as s:
            few = qq.count(s, qq.QueueQuery(view="all", text="cmp-2026-00001"), FROZEN_NOW)
        assert 1 < few <= 20
        screen.query_one(Input).value = "cmp-2026-00001"
        await settle(pilot)
        assert str(bar.render()).strip().startswith(f"{few} matches · enter: first")
        assert f"{few} tickets" in _title(screen)


async def test_a_view_switch_fits_the_scrollbar_without_laying_the_screen_out(demo_desk, monkeypatch):
    """The table's height in rows changes with each view and each count; the
    scrollbar follows it, the screen is not laid out again for it (a layout
    of every widget cost ~20 ms a switch)."""
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.table
        layouts: list[int] = []
        real = type(screen)._refresh_layout

        def counted(self, *args, **kwargs):
            layouts.append(1)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(type(screen), "_refresh_layout", counted)
        for view in ("out_of_scope", "unassigned", "all"):  # each longer than the screen
            before = table.row_count
            screen.action_view(view)
            await settle(pilot)
            assert table.row_count != before
            assert table.virtual_size.height == table.row_count + 1
            assert table.vertical_scrollbar.window_virtual_size == table.row_count + 1
        assert layouts == []
        screen.action_view("escalations")  # shorter than the screen: the scrollbar goes (one layout)
        await settle(pilot)
        assert not table.show_vertical_scrollbar
        assert len(layouts) == 1
