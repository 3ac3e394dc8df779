"""The queue reads ahead the ticket under its cursor (app/console_read_ahead.py):
enter shows that read at once, a ticket changed since is shown as stored right
after, and a cursor moving on reads only where it rests."""

from __future__ import annotations

from conftest import FROZEN_NOW
from console_helpers import make_app, reload_ticket, screen_text, settle


async def test_enter_opens_the_row_read_ahead_without_reading_it_again(demo_desk):
    from screens.ticket_detail import TicketDetailScreen

    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)
        row = app.screen.table.current
        ahead = app._ahead
        assert ahead is not None and ahead.reference == row.reference
        assert ahead.data.ticket.reference == row.reference
        reads = []
        original = app._read_ticket
        app._read_ticket = lambda *a: (reads.append(a), original(*a))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketDetailScreen)
        assert app.screen.data is ahead.data and reads == []  # shown from the read ahead, not read again
        assert row.reference in screen_text(app)
        assert app._ahead is None  # used once


async def test_a_ticket_changed_after_its_read_ahead_is_shown_as_stored(demo_desk):
    from app.identity import resolve_actor
    from app.workflow import add_note

    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        row = app.screen.table.current
        assert app._ahead is not None and app._ahead.reference == row.reference
        with demo_desk.session() as s:  # a colleague writes on it after it was read ahead
            add_note(s, resolve_actor(s, "bob"), row.reference, "bob was here after the read", now=FROZEN_NOW)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert screen.data.ticket.version == reload_ticket(demo_desk, row.reference).version
        assert "bob was here after the read" in screen_text(app)


async def test_an_old_read_ahead_is_not_shown(demo_desk):
    from screens import read_ahead as console_read_ahead

    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        ahead = app._ahead
        assert ahead is not None
        ahead.read_at -= console_read_ahead.READ_AHEAD_FRESH + 1
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.reference == ahead.reference and app.screen.data is not ahead.data


async def test_a_moving_cursor_reads_one_at_a_time_where_it_rests_and_keys_after_enter_go_to_the_ticket(
    demo_desk, monkeypatch
):
    import threading

    from app import ticket_view
    from screens.ticket_detail import TicketDetailScreen
    from typing_helpers import burst

    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        read, running, most, lock = [], [0], [0], threading.Lock()
        load = ticket_view.load_detail

        def counted(session, reference, *args, **kwargs):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            read.append(reference)
            try:
                return load(session, reference, *args, **kwargs)
            finally:
                with lock:
                    running[0] -= 1

        monkeypatch.setattr(ticket_view, "load_detail", counted)
        await burst(pilot, *["down"] * 12)
        await settle(pilot)
        rest = app.screen.table.current.reference
        assert read and read[-1] == rest and most[0] == 1  # one read at a time, the last where the cursor rests
        assert len(read) <= 2  # none while more keys wait: the rows passed over are not read
        assert app._ahead.reference == rest
        await burst(pilot, "enter", "escape")  # escape typed while it opens: it closes the ticket opened
        await settle(pilot)
        assert not isinstance(app.screen, TicketDetailScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.reference == rest


async def test_the_kept_ticket_screen_shows_a_ticket_in_one_frame(demo_desk):
    """Filled off the stack, the kept screen lays out and paints all of itself in
    one frame when pushed (not what the layout changed, then everything again)."""
    from console_helpers import find_ticket

    a = find_ticket(demo_desk, kind="complaint", status="submitted")
    b = find_ticket(demo_desk, kind="complaint", status="investigation")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app.open_ticket(a.reference)
        await settle(pilot)
        screen = app.screen
        await pilot.press("escape")
        await settle(pilot)
        frames, first = [], []
        display, shown_first = app._display, screen._shown_first
        app._display = lambda s, update: (frames.append((s, type(update).__name__)), display(s, update))
        screen._shown_first = lambda gen: (first.append(list(frames)), shown_first(gen))
        app.open_ticket(b.reference)
        await settle(pilot)
        assert app.screen is screen and b.reference in screen_text(app)
        assert first and first[0] == [(screen, "LayoutUpdate")]  # one full frame before anything else


async def test_a_view_switched_to_reads_its_first_row_ahead_once_its_count_is_in(demo_desk, monkeypatch):
    """Views (or sorts) switched in a row: the first row of each is read ahead
    only once its count is in (a switch cancels the count before), so the read
    never runs beside the next view's rows. A cursor move reads at once."""
    import threading

    from app.queue_source import QueueSource

    release = threading.Event()
    count = QueueSource.count

    def held(self):
        release.wait(10)
        return count(self)

    monkeypatch.setattr(QueueSource, "count", held)
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        release.set()
        await settle(pilot)
        release.clear()
        table = app.screen.table
        app.screen.action_cycle_sort()  # every ticket by age: a new source, as a view switched to
        while not table.showing_current:
            await pilot.pause(0.01)
        await pilot.pause(0.05)
        first = table.current
        assert first is not None and not table.count_known
        assert app._ahead_reading is None and (app._ahead is None or app._ahead.reference != first.reference)
        release.set()
        await settle(pilot)
        assert table.count_known and app._ahead is not None and app._ahead.reference == first.reference
        await pilot.press("down")  # a move in a counted view: read at once
        await settle(pilot)
        assert app._ahead.reference == table.current.reference != first.reference
