"""Shared helpers for the console's Pilot and snapshot tests."""

from __future__ import annotations

import threading

from sqlmodel import select

from conftest import frozen_now


def make_app(desk, login: str = "olivia", config=None):
    from app.business_calendar import BusinessCalendar
    from app.config import DeskConfig
    from app.console import EsimdeskApp
    from app.identity import resolve_actor

    with desk.session() as s:
        actor = resolve_actor(s, login)
    if config is None:  # the tests find tickets across the desk: open on "All" whatever the role
        config = DeskConfig(console_start_view="all")
    return EsimdeskApp(desk, actor, config, now=frozen_now, calendar=BusinessCalendar("EE", None, "Europe/Tallinn"))


async def settle(pilot, rounds: int = 30) -> None:
    """Let workers finish and their messages land (until two quiet rounds)."""
    from textual.worker import WorkerCancelled, WorkerFailed, WorkerState

    app = pilot.app
    quiet = 0
    for _ in range(rounds):
        try:
            await app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            pass
        await pilot.pause()
        busy = any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers)
        busy = busy or getattr(app, "keys_waiting", 0) > 0  # typed keys not handled yet (app.console_keys)
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return


async def queue_showing(pilot, source):
    """The queue's table (settled) showing `source` (a TableSource) instead of the desk's rows."""
    await settle(pilot)
    table = pilot.app.screen.table
    table.set_source(source)
    await settle(pilot)
    return table


async def pages_shown(pilot, table, gate: threading.Event, way: str, n: int) -> list[bool]:
    """Press `way` `n` times with no read landing (`gate` cleared): for each key,
    whether the rows of the screen it shows were there when it came."""
    gate.clear()  # from here no read lands
    shown: list[bool] = []
    move_to = table.move_to

    def moved(index: int) -> None:
        move_to(index)
        top = int(table.scroll_offset.y)
        shown.append(all(i in table.cache for i in range(top, top + table.size.height - 1)))

    table.move_to = moved
    try:
        await pilot.press(*[way] * n)
    finally:
        gate.set()
        await settle(pilot)
    return shown


async def open_by_filter(pilot, reference: str) -> None:
    """From the queue: filter by `reference`, open the first row, let it load."""
    await settle(pilot)
    await pilot.press("slash", *list(reference), "enter")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def find_ticket(desk, **where):
    from models import Ticket

    with desk.reader() as s:
        stmt = select(Ticket)
        for k, v in where.items():
            stmt = stmt.where(getattr(Ticket, k) == v)
        t = s.exec(stmt.order_by(Ticket.id)).first()
        s.expunge(t)
        return t


def reload_ticket(desk, reference: str):
    from app import tickets

    with desk.reader() as s:
        t = tickets.get(s, reference)
        s.expunge(t)
        return t


def screen_text(app) -> str:
    """All the text on the current screen (what a person would read)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


def queue_rows(n: int, due=None):
    """`n` queue rows in memory (for a screens.escalation_queue.ListSource): complaints under
    investigation, opened four days before the frozen now, due `due(i)` (else i hours after it)."""
    from datetime import timedelta

    from app.queue_query import QueueRow
    from conftest import FROZEN_NOW

    start = FROZEN_NOW - timedelta(days=4)
    return [
        QueueRow(
            i,
            f"CMP-2026-{i:06d}",
            "complaint",
            "investigation",
            2,
            f"Customer {i}",
            "Subject",
            None,
            start,
            due(i) if due else FROZEN_NOW + timedelta(hours=i),
            "resolution",
            start,
            None,
            1,
            None,
        )
        for i in range(n)
    ]


def counting_source(rows, gate=None):
    """A screens.escalation_queue.ListSource over `rows` that records each page it is asked for
    (`.calls`, a list of (offset, limit)); with `gate` (a threading.Event), each page waits for
    it to be set (no rows land while it is clear), but for the next `.let_through` pages."""
    from screens.escalation_queue import ListSource

    class Counting(ListSource):
        def __init__(self, rows) -> None:
            super().__init__(rows)
            self.calls: list[tuple[int, int]] = []
            self.let_through = 0  # pages that need not wait for `gate`

        def page(self, offset, limit):
            self.calls.append((offset, limit))
            if self.let_through > 0:
                self.let_through -= 1
            elif gate is not None:
                gate.wait(10)
            return super().page(offset, limit)

    return Counting(rows)
