"""The queue's virtual table: a ScrollView on the Line API.

It never holds the whole queue. A `TableSource` (count + page) is asked, in a
thread worker, for a window of rows around what is on screen; rows arrive as
a message and are cached; only the lines in view are rendered. Customer text
is made inert (app.untrusted.inert) and drawn as plain segments, never parsed
as markup. The SLA column is recomputed from `now()` once a second, for the
visible lines only. Each line starts with two marks: the row is tagged
(for a bulk action) and the ticket has customer mail the person has not seen.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from datetime import datetime
from typing import Protocol

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from app.clocks import words
from app.failures import one_line
from app.queue_query import QueueRow
from widgets.countdown import STATE_CLASS
from widgets.table_margins import gap_above, gap_below
from widgets.table_rows import RowCache
from widgets.ticket_columns import Column, layout
from widgets.ticket_lines import Sla, TableLines

# Rows kept fetched past the screen in the direction it last moved (50 pages of 48): what
# a burst of page keys can use. While keys keep the event loop busy a top-up read hardly
# gets the GIL back after each of its round trips (measured on PostgreSQL, 100,000 tickets:
# 120 rows in 6-8 ms at rest, 50-180 ms under page keys 5 ms apart), so a burst lives
# on the rows read at rest: 30 pages ran out at the 32nd key of 40 (2 to 6 keys waited).
AHEAD = 2400
BEHIND = 120  # rows kept fetched past the screen's other edge
CHUNK = 120  # rows a top-up fetch reads (~4 ms of the worker's CPU, most of it row building holding the GIL)
KEEP = 2880  # rows kept in the cache around the screen (more than AHEAD)
FIRST_MARGIN = 20  # rows fetched below the screen by a new source's first (short) query


class TableSource(Protocol):
    """What the table asks for; both run in a worker thread. A source may
    count only so far (an attribute `count_cap`: a count above it means
    "more than `count_cap`"); the table then grows as rows past it come in."""

    def count(self) -> int: ...

    def page(self, offset: int, limit: int) -> list[QueueRow]: ...


class TicketTable(ScrollView, can_focus=True):
    """A virtual, backend-driven ticket table with a cursor."""

    COMPONENT_CLASSES = {
        "ticket-table--header",
        "ticket-table--cursor",
        "ticket-table--loading",
        "ticket-table--empty",
        "ticket-table--priority",
        "ticket-table--tagged",
        "ticket-table--tag-mark",
        "ticket-table--unread",
        *("ticket-table--" + c for c in STATE_CLASS.values()),
    }
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="cursor_down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="cursor_up"),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False, id="page_down"),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False, id="page_up"),
        Binding("home,g", "first", "First", show=False, id="first"),
        Binding("end,G", "last", "Last", show=False, id="last"),
        Binding("enter", "select", "Open", id="open"),
    ]

    class Selected(Message):
        """The agent pressed enter on a row."""

        def __init__(self, row: QueueRow) -> None:
            super().__init__()
            self.row = row

    class Loaded(Message):
        """Rows (and maybe the count) fetched by the worker: `full`, as many
        rows as asked for (more may follow); `counted_all`, `count` is exact
        (else the source stopped counting there: a floor)."""

        def __init__(
            self,
            generation: int,
            offset: int,
            rows: list[QueueRow],
            count: int | None,
            full: bool = False,
            counted_all: bool = True,
        ) -> None:
            super().__init__()
            self.generation, self.offset, self.rows, self.count = generation, offset, rows, count
            self.full, self.counted_all = full, counted_all

    class Highlighted(Message):
        """The cursor is on a (loaded) row; `settled`: the count is in (not so for a view just switched to)."""

        def __init__(self, row: QueueRow, settled: bool = True) -> None:
            super().__init__()
            self.row, self.settled = row, settled

    class Counted(Message):
        """The table learnt how many rows its source holds (`more`: more
        than `count`, the source counted no further)."""

        def __init__(self, count: int, more: bool = False) -> None:
            super().__init__()
            self.count, self.more = count, more

    class LoadFailed(Message):
        """The source could not be read (the database failed under it): the
        rows on screen stay, and the line says why."""

        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    def __init__(self, now: Callable[[], datetime], *, at_risk_share: float = 0.25, id: str | None = None) -> None:
        super().__init__(id=id)
        self.now = now
        self.share = at_risk_share
        self.source: TableSource | None = None
        self.generation = 0
        self.row_count = 0
        self.count_known = False
        self.count_more = False  # the count is a floor: the source counted no further
        self._end_known = False  # (with count_more) a short page showed where the rows end
        self.cursor = 0
        self.cache = RowCache()  # (after a reload, rows read before it are kept, marked stale)
        self._kept = -1  # the generation that keeps the rows before it (a reload's)
        # ids of the tagged tickets (the screen owns the tags; the table marks them)
        self.tagged: Container[int] = frozenset()
        self._pending: tuple[int, int, int] | None = None  # (generation, offset, limit) in flight
        self.loaded_once = False
        self._cache_generation = -1
        self._announced: QueueRow | None = None
        self._tt_styles: dict[str, Style] | None = None
        self._tt_layout: tuple[int, list[Column]] | None = None
        self._tt_sized: tuple | None = None  # (size, virtual size, container size) the scrollbars were last fitted to
        self._lines = TableLines()
        self._drawn: dict[int, Sla] = {}  # screen line -> the SLA words and state drawn there last
        self._heading = 1  # the way the screen last scrolled (down: 1, up: -1): the read-ahead's side

    # -- data --------------------------------------------------------------
    def set_source(self, source: TableSource, *, keep_cursor: bool = False) -> None:
        """Show `source`; the rows are fetched in a worker."""
        old = self.source
        if old is not None and old is not source and hasattr(old, "cancel"):
            old.cancel()  # stop its queries still running (optional for a TableSource)
        self.source = source
        self.generation += 1
        if not keep_cursor:
            self.cursor = 0
            self.scroll_to(y=0, animate=False, immediate=True)
            self._heading = 1  # from the first row: the rows below are the ones ahead
            self.count_known = False
            self.count_more = False
            self._end_known = False
        if keep_cursor:
            offset, limit = self._window()
        else:  # the rows on screen first (a short query); the margins follow via _ensure_window
            offset, limit = int(self.scroll_offset.y), max(1, self.size.height - 1) + FIRST_MARGIN
        self._pending = (self.generation, offset, limit)
        self._fetch(self.generation, source, offset, limit, True)

    def reload(self) -> None:
        """Fetch the rows in view again (a colleague changed something)."""
        if self.source is not None:
            self.set_source(self.source, keep_cursor=True)
            self._kept = self.generation  # the rows on hand stay shown until read again

    @work(thread=True, exclusive=True, group="ticket-table")
    def _fetch(self, generation: int, source: TableSource, offset: int, limit: int, with_count: bool) -> None:
        # A superseded fetch (the person switched views meanwhile) stops before
        # each query: its thread cannot be interrupted, and would otherwise
        # compete with the new view's queries for the database and the GIL.
        if generation != self.generation:
            return
        try:
            rows = source.page(offset, limit)
            complete = offset == 0 and len(rows) < limit
            self.post_message(
                self.Loaded(generation, offset, rows, len(rows) if complete else None, len(rows) == limit)
            )
            if with_count and not complete and generation == self.generation:
                n = source.count()
                cap = getattr(source, "count_cap", None)
                self.post_message(self.Loaded(generation, offset, [], n, counted_all=cap is None or n <= cap))
        except Exception as exc:  # noqa: BLE001 - a failed read is said on screen; the console stays
            self.post_message(self.LoadFailed(one_line(exc)))

    def on_ticket_table_load_failed(self, message: LoadFailed) -> None:
        self._pending = None  # the next move asks again (the message goes on up to the screen)

    def on_ticket_table_loaded(self, message: Loaded) -> None:
        message.stop()
        if message.generation != self.generation:
            return
        before = (self.row_count, self.cursor, self.loaded_once, self._cache_generation)
        if self._cache_generation != message.generation and (message.rows or message.count is not None):
            self.cache.renew(keep=message.generation == self._kept)
            self._cache_generation = message.generation
        self.cache.put(message.offset, message.rows)
        if self._pending is not None and self._pending[:2] == (message.generation, message.offset):
            self._pending = None  # (the next fetch may go: _ensure_window after this frame)
        if message.count is not None:
            self.row_count = message.count
            self.count_known = True
            self.count_more = not message.counted_all
            if not self.count_more:
                self.cache.end_at(message.count)
            shown = message.count - 1 if self.count_more else message.count
            self.post_message(self.Counted(shown, self.count_more))
        elif message.rows and not self.count_known:
            self.row_count = max(self.row_count, message.offset + len(message.rows))
        if self.count_more and message.rows and not self._end_known:
            # past the counted floor the table grows with the rows that come in: one more
            # while a page is full (scrolling there fetches the next), the end when one is not
            end = message.offset + len(message.rows)
            self.row_count = max(self.row_count, end + 1) if message.full else end
            self._end_known = not message.full
        self.loaded_once = True
        self._trim()
        self.cursor = min(self.cursor, max(0, self.row_count - 1))
        self._fit_rows()
        if before != (self.row_count, self.cursor, self.loaded_once, self._cache_generation) or self._on_screen(
            message.offset, len(message.rows)
        ):
            self.refresh()  # (rows read ahead, off screen, cost no frame)
            self.call_after_refresh(self._ensure_window)  # the next read after the frame showing these
        elif message.rows or message.count is not None:  # (no rows came: the next move asks again)
            self._ensure_window()  # nothing to paint: the next top-up at once
        self._announce()

    def _on_screen(self, offset: int, n: int) -> bool:
        """Rows [offset, offset + n) meet the rows in view."""
        top = int(self.scroll_offset.y)
        return n > 0 and offset < top + max(1, self.size.height - 1) and offset + n > top

    def _announce(self) -> None:
        row = self.cache.get(self.cursor)
        if row is not None and row is not self._announced:
            self._announced = row
            self.post_message(self.Highlighted(row, self.count_known))

    def _trim(self) -> None:
        top = int(self.scroll_offset.y)
        if len(self.cache) > KEEP * 2:
            self.cache.keep_between(top - KEEP, top + KEEP)

    def _window(self) -> tuple[int, int]:
        """(offset, limit) of the rows on screen and a chunk each side (a reload's one read)."""
        top = int(self.scroll_offset.y)
        start = max(0, top - CHUNK)
        return start, max(1, self.size.height - 1) + CHUNK + (top - start)

    def _ensure_window(self) -> None:
        """Keep the rows in view fetched, and AHEAD rows past the screen in the
        direction it last moved (BEHIND the other way), so a page key finds its
        rows cached. One fetch at a time: the rows on screen first, else the
        next CHUNK rows (once a whole chunk is missing): a top-up's row
        building (~20 us a row, holding the GIL) stays short beside a frame,
        and each one lands and calls back here for the next."""
        if self.source is None or not self.loaded_once:
            return
        top = int(self.scroll_offset.y)
        last = min(self.row_count, top + max(1, self.size.height - 1))
        missing = [i for i in range(top, last) if i not in self.cache.fresh]  # (stale rows: read again first)
        pending = self._pending if self._pending is not None and self._pending[0] == self.generation else None
        if missing:
            if pending is not None and pending[1] <= missing[0] and missing[-1] < pending[1] + pending[2]:
                return  # the fetch in flight brings the rows on screen
            start, end = missing[0], missing[-1] + 1  # the rows on screen, and a chunk on where they lead
            start, end = (start, end + CHUNK) if self._heading > 0 else (max(0, start - CHUNK), end)
            if not (self.count_more and not self._end_known):
                end = min(end, self.row_count)
            self._fetch_span(start, end)
        elif pending is None and self.count_known:  # (the margins wait for the count, which calls back here)
            span = self._top_up(top, last)
            if span is not None:
                self._fetch_span(*span)

    def _top_up(self, top: int, last: int) -> tuple[int, int] | None:
        """The next chunk of the margins to fetch, the side the screen moves to first
        (at the first row or the last, the only side it can move to)."""
        down = top == 0 or (self._heading >= 0 and (last < self.row_count or self.count_more))
        growing = self.count_more and not self._end_known  # rows may follow past row_count
        fresh = self.cache.fresh
        below = gap_below(fresh, last, AHEAD if down else BEHIND, CHUNK, self.row_count, growing)
        above = gap_above(fresh, top, BEHIND if down else AHEAD, CHUNK)
        return (below or above) if down else (above or below)

    def _fetch_span(self, start: int, end: int) -> None:
        """Fetch rows [start, end) (those cached already at either end left out)."""
        fresh = self.cache.fresh
        while start < end and start in fresh:
            start += 1
        while end > start and end - 1 in fresh:
            end -= 1
        if start < end:
            self._pending = (self.generation, start, end - start)
            self._fetch(self.generation, self.source, start, end - start, False)

    @property
    def reading(self) -> bool:
        """A read of the current source is in flight."""
        return self._pending is not None and self._pending[0] == self.generation

    @property
    def showing_current(self) -> bool:
        """The current source's first rows (or its emptiness) are in."""
        return self._cache_generation == self.generation

    # -- cursor --------------------------------------------------------------
    @property
    def current(self) -> QueueRow | None:
        return self.cache.get(self.cursor)

    def mark_read(self, ticket_id: int) -> None:
        """The person opened the ticket: its unread mark goes at once (the
        ticket screen records it seen; the next fetch agrees)."""
        for i, row in self.cache.items():
            if row.id == ticket_id and row.unread:
                self.cache[i] = row._replace(unread=False)
                self.refresh_row(i)

    def refresh_row(self, index: int) -> None:
        """Draw row `index` again (if it is on screen)."""
        self.refresh_line(index - int(self.scroll_offset.y) + 1)

    def move_to(self, index: int) -> None:
        if self.row_count == 0:
            return
        old = self.cursor
        self.cursor = max(0, min(self.row_count - 1, index))
        if self.cursor != old:
            self._heading = 1 if self.cursor > old else -1
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)
        if int(self.scroll_offset.y) == top:
            self.refresh_line(old - top + 1)
            self.refresh_line(self.cursor - top + 1)
        else:
            self.refresh()
        self._ensure_window()
        self._announce()

    def refresh_line(self, y: int) -> None:
        from textual.geometry import Region

        self.refresh(Region(0, y, self.size.width, 1))

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + max(1, self.size.height - 2))

    def action_page_up(self) -> None:
        self.move_to(self.cursor - max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.row_count - 1)

    def action_select(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Selected(row))

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_to(int(self.scroll_offset.y) + event.y - 1)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new != old:
            self._heading = 1 if new > old else -1
        self.call_after_refresh(self._ensure_window)

    def _fit_rows(self) -> None:
        """The virtual height follows the row count without laying the screen out
        (virtual_size is a layout reactive: each view switch and each filter's
        count cost a layout of every widget, ~20 ms); the scrollbar is fitted
        here, and the screen laid out only when the scrollbar comes or goes."""
        size = Size(self.size.width, self.row_count + 1)
        if size == self.virtual_size:
            return
        had_bar = self.show_vertical_scrollbar
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)
        if self.show_vertical_scrollbar != had_bar:
            self.refresh(layout=True)

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # The compositor hands a ScrollView its viewport as "virtual size", never the
        # table's (a line per row), so ScrollView refitted and repainted the scrollbar on
        # every layout of the screen: one more frame after each filter character.
        sized = (size, self.virtual_size, container_size)
        if sized == self._tt_sized:
            return False
        self._tt_sized = sized
        return super()._size_updated(size, virtual_size, container_size, layout)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.size.width, self.row_count + 1)
        self._ensure_window()

    # -- drawing -------------------------------------------------------------
    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """Once a second: draw again the lines whose SLA words changed (a
        countdown's seconds; "BREACHED 5d" changes once a day, "met" never)."""
        if not self.row_count or not self.screen.is_current:
            return
        now = self.now()
        top = int(self.scroll_offset.y)
        for y, drawn in list(self._drawn.items()):
            row = self.cache.get(top + y - 1)
            if row is not None and self._sla(row, now) != drawn:
                self.refresh_line(y)

    def notify_style_update(self) -> None:
        self._tt_styles = None
        super().notify_style_update()

    def _on_focus(self, event) -> None:
        self._tt_styles = None
        super()._on_focus(event)

    def _on_blur(self, event) -> None:
        self._tt_styles = None
        super()._on_blur(event)

    def _styles(self) -> dict[str, Style]:
        """The component styles, computed once per style change (they are costly to look up per line)."""
        if self._tt_styles is None:
            cache = {"base": self.rich_style}
            for name in self.COMPONENT_CLASSES:
                cache[name] = self.get_component_rich_style(name, partial=True)
            cache["ticket-table--header-full"] = self.get_component_rich_style("ticket-table--header")
            self._tt_styles = cache
            self._lines.clear()
        return self._tt_styles

    def _layout(self, width: int) -> list[Column]:
        if self._tt_layout is None or self._tt_layout[0] != width:
            self._tt_layout = (width, layout(width))
        return self._tt_layout[1]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        cols = self._layout(width)
        st = self._styles()
        if y == 0:
            return self._lines.header(cols, st, width)
        index = int(self.scroll_offset.y) + y - 1
        base = st["base"]
        if index >= self.row_count:
            if index == 0 and self.loaded_once:
                return Strip(
                    [Segment(set_cell_size("  no tickets in this view", width), base + st["ticket-table--empty"])]
                )
            return Strip.blank(width, base)
        row = self.cache.get(index)
        if row is None:
            return Strip([Segment(set_cell_size("  …", width), base + st["ticket-table--loading"])])
        sla = self._drawn[y] = self._sla(row, self.now())
        return self._lines.row(row, cols, st, width, cursor=index == self.cursor, tagged=row.id in self.tagged, sla=sla)

    def _sla(self, row: QueueRow, now: datetime) -> Sla:
        clock = row.clock(now, self.share)
        return words(clock), clock.state


__all__ = ["AHEAD", "BEHIND", "CHUNK", "KEEP", "TableSource", "TicketTable"]
