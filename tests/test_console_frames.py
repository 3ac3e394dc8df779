"""What keeps a key inside a frame: paging reads each row once, the clocks
repaint only the lines whose words changed, and the full garbage collection
waits for a quiet moment (the figures themselves are in bench/console_bench.py)."""

from __future__ import annotations

import gc
import threading
from datetime import timedelta

import pytest

from conftest import FROZEN_NOW
from console_helpers import counting_source, make_app, pages_shown, queue_rows, queue_showing, settle


def _rows(n: int, breached_every: int = 0):
    """`n` queue rows; every `breached_every`-th one breached days ago, the others counting down."""

    def due(i: int):
        if breached_every and i % breached_every == 0:
            return FROZEN_NOW - timedelta(days=3)
        return FROZEN_NOW + timedelta(hours=1 + i)

    return queue_rows(n, due)


async def test_paging_down_reads_each_row_once(demo_desk):
    from widgets.ticket_table import CHUNK

    source = counting_source(_rows(20_000))
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await queue_showing(pilot, source)
        for _ in range(60):  # ~1,300 rows down, a key at a time as fast as they go
            await pilot.press("pagedown")
        await settle(pilot)
        assert table.cursor > 1000 and all(i in table.cache for i in range(table.cursor - 10, table.cursor + 1))
        visible = table.size.height - 1
    read = [i for offset, limit in source.calls for i in range(offset, min(offset + limit, 20_000))]
    assert len(read) == len(set(read))  # no row read twice (the whole window was read again on every page)
    assert all(limit <= visible + 3 * CHUNK for _, limit in source.calls)  # (a read's row building is short)


@pytest.mark.parametrize("way", ["pagedown", "pageup"])
async def test_the_next_25_pages_either_way_are_read_ahead_before_their_keys_come(demo_desk, way):
    """Settled, the table holds the rows of the next 25 pages (of 19 rows) in the
    way it last moved: keys pressed faster than any read lands (here none
    lands: the source waits) still show their rows, none waits for a fetch."""
    gate = threading.Event()
    gate.set()
    source = counting_source(_rows(20_000), gate)
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await queue_showing(pilot, source)
        if way == "pageup":
            await pilot.press("G")  # from the last row, moving up
        for _ in range(15):  # a person paging, a key at a time
            await pilot.press(way)
            await settle(pilot)
        start = table.cursor
        shown = await pages_shown(pilot, table, gate, way, 25)
        assert abs(table.cursor - start) == 25 * (table.size.height - 2) == 25 * 19
        assert shown == [True] * 25  # each page's rows were there when its key came


async def test_a_burst_of_40_page_keys_on_a_full_screen_finds_every_page_read_at_rest(demo_desk):
    """At 160 x 50 (the bench's size: pages of 45 rows), settled, the next 40 page
    keys find their rows read: none waits for a read even if none lands meanwhile
    (under keys 5 ms apart a read hardly gets the GIL: a burst lives on what was
    read at rest; 30 pages of 48 ran out at the 32nd key)."""
    gate = threading.Event()
    gate.set()
    source = counting_source(_rows(20_000), gate)
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        table = await queue_showing(pilot, source)
        await pilot.press(*["down"] * 60)  # as the bench: the cursor moves, then pages
        await settle(pilot)
        shown = await pages_shown(pilot, table, gate, "pagedown", 40)
        assert len(shown) == 40 and table.size.height - 2 >= 45
        assert shown == [True] * 40  # each page's rows were there when its key came


async def test_rows_read_ahead_land_without_drawing_the_screen_again(demo_desk):
    """A top-up lands off screen: no line is drawn for it (a whole screen of
    lines is ~4.5 ms of a frame); rows that land on screen are drawn."""
    rows = _rows(5_000)
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await queue_showing(pilot, counting_source(rows))
        drawn: list[int] = []
        render = table.render_line
        table.render_line = lambda y: (drawn.append(y), render(y))[1]
        table.post_message(table.Loaded(table.generation, 3_000, rows[3_000:3_120], None, True))
        await settle(pilot)
        assert 3_000 in table.cache and drawn == []
        table.cache.pop(5)
        table.post_message(table.Loaded(table.generation, 0, rows[:10], None, True))
        await settle(pilot)
        assert drawn  # (the row that was missing on screen is drawn)


async def test_the_clock_repaints_only_the_lines_whose_words_change(demo_desk):
    from app.business_calendar import BusinessCalendar
    from app.config import DeskConfig
    from app.console import EsimdeskApp
    from app.identity import resolve_actor
    from screens.escalation_queue import ListSource

    now = [FROZEN_NOW]
    with demo_desk.session() as s:
        actor = resolve_actor(s, "olivia")
    app = EsimdeskApp(
        demo_desk, actor, DeskConfig(console_start_view="all"), now=lambda: now[0], calendar=BusinessCalendar("EE")
    )
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        table = app.screen.table
        table.set_source(ListSource(_rows(100, breached_every=3)))  # rows 0, 3, 6 ... "BREACHED 3d"
        await settle(pilot)
        drawn: list[int] = []
        render = table.render_line

        def counted(y: int):
            drawn.append(y)
            return render(y)

        table.render_line = counted
        table._tick()  # the same second: nothing to draw
        await settle(pilot)
        assert drawn == []
        now[0] = FROZEN_NOW + timedelta(seconds=1)
        table._tick()
        await settle(pilot)
        counting_down = {y for y in range(1, table.size.height) if (y - 1) % 3}
        assert set(drawn) == counting_down  # each countdown's line, once; never a breached one or the header
        assert len(drawn) == len(counting_down)


async def test_the_full_collection_waits_for_a_quiet_screen(demo_desk):
    from time import monotonic

    from app.console import IDLE_COLLECT_AFTER, IDLE_COLLECT_MIDDLE

    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(IDLE_COLLECT_MIDDLE):
            gc.collect(1)  # each middle collection counts towards the next full one
        app.screen_changed()  # the screen just had something to paint
        app._collect_when_idle()
        assert gc.get_count()[2] >= IDLE_COLLECT_MIDDLE
        app._changed_at = monotonic() - IDLE_COLLECT_AFTER  # quiet since
        app._collect_when_idle()
        assert gc.get_count()[2] == 0
