"""The database fails under a running console (a server restarted, a damaged
or half-restored file): the console says so in one line and stays up, the rows
on screen stay, what the person typed is kept, and it picks up again once the
database answers. Before, any such error in a worker ended the console with a
traceback, and a note being saved was lost with it.

The failure is real: the ticket table is renamed away from under the console
(on either engine), then renamed back."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import text

from console_helpers import make_app, screen_text, settle
from test_console_typeahead import open_fast, stored_bodies, ticket_for
from typing_helpers import burst


@contextmanager
def table_gone(desk, table: str):
    with desk.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        with desk.engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))


def ticket_table_gone(desk):
    return table_gone(desk, "ticket")


def _notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_the_queue_says_the_database_failed_stays_up_and_picks_up_again(demo_desk):
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        first = app.screen.table.current.reference
        with ticket_table_gone(demo_desk):
            await pilot.press("1")  # a view switch reads the database
            await settle(pilot)
            app.screen._poll()  # and so does the change poll, every two seconds
            await settle(pilot)
            assert app.is_running
            failures = [n for n in _notices(app) if "retrying" in n]
            assert len(failures) == 1, _notices(app)  # said once, not on every read
            assert "esimdesk db upgrade" in failures[0] and "Traceback" not in failures[0]
            assert first in screen_text(app)  # the rows on screen stay
        app.screen._poll()
        await settle(pilot)
        assert any("answers again" in n for n in _notices(app))
        assert app.screen.table.row_count > 0 and app.screen.table.current is not None


async def test_a_note_saved_while_the_database_fails_is_kept_and_saves_after(demo_desk):
    from screens.prompts import TextPrompt

    t = ticket_for(demo_desk, "alice", "note", kind="complaint", status="investigation")
    note = "Carrier confirmed the outage in Lisbon; credit approved by the duty manager."
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        with ticket_table_gone(demo_desk):
            await burst(pilot, "n", note, "ctrl+s")
            await settle(pilot)
            assert app.is_running
            assert isinstance(app.screen, TextPrompt)  # the prompt stays, with the text
            assert note in app.screen.query_one("TextArea").text
            assert "esimdesk db upgrade" in screen_text(app) + " ".join(_notices(app))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert note in stored_bodies(demo_desk, t.id)


async def test_the_ticket_screen_and_the_escalation_queue_stay_up_when_their_reads_fail(demo_desk):
    from screens.escalation_queue import EscalationQueueScreen
    from screens.ticket_detail import TicketDetailScreen

    t = ticket_for(demo_desk, "marek", "note", kind="escalation")
    app = make_app(demo_desk, "marek")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        assert isinstance(app.screen, TicketDetailScreen)
        with table_gone(demo_desk, "presence"):  # the heartbeat writes there every few seconds
            app.screen._heartbeat()
            await settle(pilot)
            assert app.is_running and isinstance(app.screen, TicketDetailScreen)
        screen = EscalationQueueScreen()
        await app.push_screen(screen)
        await settle(pilot)
        with ticket_table_gone(demo_desk):
            screen.load()
            await settle(pilot)
            assert app.is_running
            assert any("esimdesk db upgrade" in n for n in _notices(app))


def test_a_failed_queue_read_is_one_line_on_either_engine(desk):
    """The queue's reads turn a database failure into the one line the console
    shows (app.failures), on SQLite and on PostgreSQL alike."""
    import pytest

    from app.errors import DeskError
    from app.queue_query import QueueQuery
    from app.queue_source import QueueSource
    from conftest import FROZEN_NOW

    src = QueueSource(desk, QueueQuery(view="all"), lambda: FROZEN_NOW)
    assert src.page(0, 10) == [] and src.count() == 0  # an empty desk reads fine
    with ticket_table_gone(desk), pytest.raises(DeskError) as failed:
        src.page(0, 10)
    line = str(failed.value)
    assert "\n" not in line and "esimdesk db upgrade" in line and "SELECT" not in line
    assert src.count() == 0  # and reads again once the table is back
