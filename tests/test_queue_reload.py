"""A colleague's change reloads the queue (widgets/ticket_table.py reload): the
rows read before it stay shown, marked stale (widgets/table_rows.py), until read
again, so a page key right after the change finds its rows; each stale row is
read again, the ones on screen first, and rows past a shrunk queue go."""

from __future__ import annotations

import threading
from datetime import timedelta

from conftest import FROZEN_NOW
from console_helpers import counting_source, make_app, pages_shown, queue_rows, queue_showing, settle


def _rows(n: int):
    return queue_rows(n, lambda i: FROZEN_NOW + timedelta(hours=1 + i))


async def test_page_keys_right_after_a_reload_find_rows_and_every_stale_row_is_read_again(demo_desk):
    from widgets.ticket_table import BEHIND

    gate = threading.Event()
    gate.set()
    source = counting_source(_rows(20_000), gate)
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        table = await queue_showing(pilot, source)
        await pilot.press(*["down"] * 60)
        await settle(pilot)
        assert all(i in table.cache for i in range(table.cursor, table.cursor + 21 * 48))  # (read ahead at rest)
        source.rows[2_000] = source.rows[2_000]._replace(customer="Renamed by a colleague")
        gate.clear()  # from here no read lands but the reload's first (the rows on screen)
        source.let_through = 1
        table.reload()
        for _ in range(200):
            if table.showing_current:
                break
            await pilot.pause(0.01)
        assert table.showing_current
        reads_before = len(source.calls)
        shown = await pages_shown(pilot, table, gate, "pagedown", 20)
        assert shown == [True] * 20  # each page's rows were there when its key came (kept from before)
        top = int(table.scroll_offset.y)
        # every kept row within the read-ahead's reach was read again (those further
        # behind are read again when they come on screen)
        assert all(i < top - BEHIND for i in table.cache.stale)
        assert table.cache[2_000].customer == "Renamed by a colleague"
        read = {i for offset, limit in source.calls[reads_before:] for i in range(offset, offset + limit)}
        assert set(range(top, top + table.size.height - 1)) <= read


async def test_a_reload_of_a_shrunk_queue_drops_the_kept_rows_past_its_end(demo_desk):
    source = counting_source(_rows(3_000))
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await queue_showing(pilot, source)
        assert 2_000 in table.cache
        del source.rows[1_000:]
        table.reload()
        await settle(pilot)
        assert table.row_count == 1_000
        assert max(table.cache) == 999 and not table.cache.stale


async def test_a_new_view_does_not_keep_the_old_views_rows(demo_desk):
    from screens.escalation_queue import ListSource

    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await queue_showing(pilot, counting_source(_rows(3_000)))
        table.reload()
        await settle(pilot)
        table.set_source(ListSource(_rows(10)))
        await settle(pilot)
        assert sorted(table.cache) == list(range(10)) and not table.cache.stale


def test_row_cache_marks_kept_rows_stale_until_read_again() -> None:
    from widgets.table_rows import RowCache

    rows = _rows(10)
    cache = RowCache()
    cache.put(0, rows)
    assert 3 in cache.fresh
    cache.renew(keep=True)
    assert 3 in cache and 3 not in cache.fresh
    cache.put(2, rows[2:5])
    assert [i in cache.fresh for i in range(6)] == [False, False, True, True, True, False]
    cache.end_at(8)
    assert sorted(cache) == list(range(8))
    cache.keep_between(1, 6)
    assert sorted(cache) == list(range(1, 7)) and cache.stale == {1, 5, 6}
    cache.renew(keep=False)
    assert not cache and not cache.stale
