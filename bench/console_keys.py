"""Driving the console's keys in the console bench (bench/console_bench.py):
waiting for the frame a key paints, for a condition, and the open/back round."""

from __future__ import annotations

import asyncio
import time


def _count_paints(app) -> None:
    """Count the frames the app writes (app.painted), to wait for one."""
    app.painted = 0
    display = app._display

    def counted(screen, renderable) -> None:
        display(screen, renderable)
        app.painted += 1

    app._display = counted


async def _frame(app) -> None:
    """Wait until the pending messages are processed and the screen has
    painted what they changed (the screen paints on its own timer)."""
    for _ in range(5):
        done = asyncio.Event()
        app.call_after_refresh(done.set)
        await done.wait()
        screen = app.screen
        if not (
            screen._dirty_widgets or screen._layout_required or screen._repaint_required or screen._recompose_required
        ):
            return
        painted = getattr(app, "painted", None)
        if painted is None:
            return
        deadline = time.perf_counter() + 1.0
        while app.painted == painted and time.perf_counter() < deadline:  # noqa: ASYNC110 - polls a frame counter, as fast as it can
            await asyncio.sleep(0.0005)


async def _until(cond, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a bench helper with its own deadline
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.0005)


async def _open_and_back(app, pilot, queue, timed, keys: dict[str, list[float]]) -> dict[str, list[float]]:
    """Open the ticket under the cursor and go back, 15 times, one row down each
    time: each key's time to its painted frame into `keys`; returned, the event
    loop's own CPU for each (what load on the machine does not inflate)."""
    from screens.ticket_detail import TicketDetailScreen

    table = queue.table
    cpu: dict[str, list[float]] = {"open": [], "back": []}

    def opened() -> bool:
        return isinstance(app.screen, TicketDetailScreen) and app.screen.data is not None

    for _ in range(15):
        cpu0 = time.thread_time()
        keys["open"].append(await timed(table.action_select, opened))
        cpu["open"].append((time.thread_time() - cpu0) * 1000)
        await asyncio.sleep(0.05)
        cpu0 = time.thread_time()
        keys["back"].append(await timed(lambda: app.screen.action_back(), lambda: app.screen is queue))
        cpu["back"].append((time.thread_time() - cpu0) * 1000)
        table.action_cursor_down()
        await pilot.pause()
    return cpu


# -- child: the console ----------------------------------------------------------


def _read_asks(table) -> list[float]:
    """[When the table last asked for rows] (perf_counter), kept up to date: how long
    the read a waiting page key waits for had run (one read at a time)."""
    asked = [0.0]
    fetch_span = table._fetch_span

    def traced(start: int, end: int) -> None:
        asked[0] = time.perf_counter()
        fetch_span(start, end)

    table._fetch_span = traced
    return asked
