"""The queue compiles the other views' SQL at quiet moments after its first
count (app.queue_query.warm), so the first switch to a view builds no SQL:
a view's first page cost 8-15 ms more CPU than its next ones (At risk on
SQLite, 100,000 tickets: 26.6 against 11 ms)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event
from sqlalchemy.engine.default import CACHE_MISS

from app import queue_query
from app.queue_query import VIEWS, QueueQuery
from conftest import FROZEN_NOW
from console_helpers import make_app, settle


def _misses_in_page_reads(desk, monkeypatch) -> list[str]:
    """The statements a queue page read had to compile (SQLAlchemy's cache missed), as they come."""
    in_page = threading.local()
    misses: list[str] = []
    page = queue_query.page

    def watched(*args, **kwargs):
        in_page.on = True
        try:
            return page(*args, **kwargs)
        finally:
            in_page.on = False

    def before(conn, cursor, statement, params, context, executemany) -> None:
        if getattr(in_page, "on", False) and context.cache_hit == CACHE_MISS:
            misses.append(statement)

    monkeypatch.setattr("app.queue_source.page", watched)
    event.listen(desk.engine, "before_cursor_execute", before)
    return misses


async def test_the_first_switch_to_each_view_compiles_no_sql(demo_desk, monkeypatch):
    misses = _misses_in_page_reads(demo_desk, monkeypatch)
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)  # (the first count came, and then a quiet moment for each view)
        misses.clear()
        screen = app.screen
        for view, _title in VIEWS:
            screen.action_view(view)
            await settle(pilot)
            assert screen.table.showing_current
        assert misses == []


@pytest.mark.parametrize("view", [v for v, _ in VIEWS])
def test_warm_runs_the_statements_of_a_first_page_asking_no_row(desk, view):
    statements: list[str] = []

    def before(conn, cursor, statement, params, context, executemany) -> None:
        if statement.startswith("SELECT") and "set_config" not in statement:  # (not PostgreSQL's walk settings)
            statements.append(statement)

    event.listen(desk.engine, "before_cursor_execute", before)
    with desk.reader() as s:
        queue_query.warm(s, QueueQuery(view=view, actor_id=1), FROZEN_NOW)
    assert statements and all("LIMIT" in st for st in statements)
    if view not in ("due_today", "at_risk", "breached"):  # (a deadline view has no undated part)
        assert any("due_at IS NULL" in st for st in statements)  # both parts, though the dated one is "full"


async def test_a_view_switch_repaints_the_table_when_its_rows_come_not_before(demo_desk):
    """The switch itself leaves the table as it is (its rows are still the old
    view's): the next paint of it is the one with the new rows. Focusing the
    table again repainted it whole, a frame of old rows (~5 ms of the event
    loop, at 160x50) while the new rows were read."""
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.table
        asked: list[object] = []
        repaint = table.refresh

        def counted(*args, **kwargs):
            asked.append(args)
            return repaint(*args, **kwargs)

        table.refresh = counted
        for view in ("at_risk", "breached"):
            asked.clear()
            screen.action_view(view)
            assert asked == [], view  # (nothing of the table to paint until the rows are in)
            await settle(pilot)
            assert screen.table.showing_current and asked, view
        assert app.focused is table
