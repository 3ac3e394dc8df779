"""The console's latency measures keep their behaviour: a ticket opens with its
data from the first frame, a superseded open or view is dropped, the footer is
not rebuilt when its keys did not change."""

from __future__ import annotations

from conftest import FROZEN_NOW
from console_helpers import find_ticket, make_app, screen_text, settle
from widgets.textual_compat import timer_running


async def test_open_ticket_shows_the_data_from_the_first_frame(demo_desk):
    from screens.ticket_detail import TicketDetailScreen

    t = find_ticket(demo_desk, kind="complaint", status="investigation")
    app = make_app(demo_desk, "alice")
    pushed = []
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        original = app.push_screen

        def spy(screen, *a, **k):
            if isinstance(screen, TicketDetailScreen):
                pushed.append(screen.data)
            return original(screen, *a, **k)

        app.push_screen = spy
        app.open_ticket(t.reference)
        await settle(pilot)
        assert isinstance(app.screen, TicketDetailScreen)
        assert pushed and pushed[0] is not None and pushed[0].ticket.reference == t.reference
        assert t.reference in screen_text(app) and "loading…" not in screen_text(app)


async def test_a_superseded_open_is_dropped_and_an_unknown_reference_stays_on_the_queue(demo_desk):
    from screens.queue import QueueScreen

    a = find_ticket(demo_desk, kind="complaint", status="investigation")
    b = find_ticket(demo_desk, kind="refund")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app.open_ticket(a.reference)
        app.open_ticket(b.reference)
        await settle(pilot)
        assert app.screen.reference == b.reference
        assert len(app.screen_stack) == 2  # one detail screen, not two
        await pilot.press("escape")
        await settle(pilot)
        app.open_ticket("CMP-2099-999999")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_footer_is_not_redrawn_when_its_keys_did_not_change(demo_desk):
    from widgets.key_footer import KeyFooter

    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        assert not footer.children  # one widget, no widget per key
        assert "Open" in _footer_text(app)
        redrawn = []
        original = footer.refresh
        footer.refresh = lambda *a, **k: (redrawn.append(a), original(*a, **k))[1]  # type: ignore[method-assign]
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert redrawn == []  # back on the queue with the same keys: not drawn again
        await pilot.press("slash")  # focus moves to the filter: the table's keys leave the footer
        await settle(pilot)
        assert redrawn and "Open" not in _footer_text(app)


async def test_clicking_a_footer_key_presses_it(demo_desk):
    from widgets.key_footer import KeyFooter

    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        x = _footer_text(app).index("Filter")  # its description: the key's own cells come just before it
        await pilot.click(KeyFooter, offset=(x, 0))
        await settle(pilot)
        assert app.screen.query_one("#queue-filter").has_focus
        assert footer.region.height == 1


def test_a_cancelled_queue_source_returns_nothing(demo_desk):
    from app.queue_query import QueueQuery
    from app.queue_source import QueueSource

    src = QueueSource(demo_desk, QueueQuery(view="all"), lambda: FROZEN_NOW)
    assert src.count() > 0 and len(src.page(0, 10)) == 10
    src.cancel()
    assert src.page(0, 10) == [] and src.count() == 0


def test_a_count_dropped_while_it_settles_never_reaches_the_database(demo_desk, monkeypatch):
    """Typed filter text replaces its source at each character: the count
    waits a moment first, so the counts of the characters typed past never
    run beside the next one's rows (the page of rows does not wait)."""
    import threading
    import time

    from sqlalchemy import event

    from app import queue_source
    from app.queue_query import QueueQuery
    from app.queue_source import QueueSource

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(demo_desk.engine, "before_cursor_execute", record)
    try:
        src = QueueSource(demo_desk, QueueQuery(view="all", text="tokyo"), lambda: FROZEN_NOW)
        assert src.page(0, 5) and statements
        statements.clear()
        out = {}
        th = threading.Thread(target=lambda: out.setdefault("n", src.count()))
        monkeypatch.setattr(queue_source, "COUNT_SETTLE", 5.0)
        th.start()
        time.sleep(0.05)  # (a count that did not wait would be under way by now)
        src.cancel()
        th.join(10)
        assert out["n"] == 0 and statements == []
        monkeypatch.setattr(queue_source, "COUNT_SETTLE", 0.01)
        kept = QueueSource(demo_desk, QueueQuery(view="all", text="tokyo"), lambda: FROZEN_NOW)
        assert kept.count() == len(kept.page(0, 10_000)) > 0  # not dropped: it counts after the wait
    finally:
        event.remove(demo_desk.engine, "before_cursor_execute", record)


def test_cancel_stops_a_running_query_on_either_engine(desk):
    """A superseded filter's COUNT must not keep running: on SQLite the
    connection is interrupted, on PostgreSQL the server cancels the statement
    (a count of common text over a million tickets takes seconds there)."""
    import threading
    import time

    from sqlalchemy import text

    from app.queue_query import QueueQuery
    from app.queue_source import QueueSource

    src = QueueSource(desk, QueueQuery(view="all"), lambda: FROZEN_NOW)
    if desk.engine.dialect.name == "sqlite":
        slow = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000000) SELECT count(*) FROM n"
        )
    else:
        slow = "SELECT 1 FROM pg_sleep(30)"
    out = {}

    def run():
        t0 = time.perf_counter()
        out["value"] = src._run(lambda s: s.execute(text(slow)).scalar(), "interrupted")
        out["seconds"] = time.perf_counter() - t0

    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.5)
    src.cancel()
    th.join(20)
    assert out["value"] == "interrupted" and out["seconds"] < 10
    with desk.reader() as s:  # the connection went back to the pool usable
        assert s.execute(text("SELECT 1")).scalar() == 1


# -- the kept ticket detail screen (updated in place, never composed twice) ---------
def _footer_text(app) -> str:
    from console_helpers import screen_text as text

    return text(app).splitlines()[-1]


async def test_the_detail_screen_is_kept_and_shows_only_the_ticket_opened(demo_desk):
    from screens.ticket_detail import TicketDetailScreen
    from widgets.key_footer import KeyFooter
    from widgets.ticket_header import TicketHeader

    a = find_ticket(demo_desk, kind="complaint", status="submitted")  # can be acknowledged
    b = find_ticket(demo_desk, kind="complaint", status="investigation")  # cannot
    app = make_app(demo_desk, "alice")
    seen = []
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app.open_ticket(a.reference)
        await settle(pilot)
        first = app.screen
        assert isinstance(first, TicketDetailScreen) and "Acknowledge" in _footer_text(app)
        await pilot.press("escape")
        await settle(pilot)
        original = app.push_screen

        def spy(screen, *args, **kwargs):
            # what the screen holds when it becomes visible: the new ticket only
            footer = screen.query_one(KeyFooter)
            seen.append(
                (
                    screen.query_one(TicketHeader).reference,
                    footer._shown == footer._signature(),
                    [i.text for i in screen.data.timeline],
                )
            )
            return original(screen, *args, **kwargs)

        app.push_screen = spy
        app.open_ticket(b.reference)
        await settle(pilot)
        assert app.screen is first  # the same instance, not composed again
        assert seen and seen[0][0] == b.reference and seen[0][1] is True
        text = screen_text(app)
        assert b.reference in text and a.reference not in text
        assert "Acknowledge" not in _footer_text(app) and "Close" in _footer_text(app)
        assert len(app.screen_stack) == 2


async def test_presence_follows_the_ticket_shown_and_stops_off_the_stack(demo_desk):
    from app.presence import who_else
    from conftest import frozen_now

    a = find_ticket(demo_desk, kind="complaint", status="investigation")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app.open_ticket(a.reference)
        await settle(pilot)
        screen = app.screen
        with demo_desk.reader() as s:
            assert "alice" in who_else(s, a.id, "someone-else", frozen_now())
        assert screen._timer is not None and timer_running(screen._timer)
        await pilot.press("escape")
        await settle(pilot)
        with demo_desk.reader() as s:
            assert "alice" not in who_else(s, a.id, "someone-else", frozen_now())
        assert screen._live is None and not timer_running(screen._timer)  # no tick, heartbeat or poll while hidden
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and screen._live is not None and timer_running(screen._timer)


def _two_tickets(demo_desk):
    """A submitted complaint, a refund, and the console as alice."""
    return (
        find_ticket(demo_desk, kind="complaint", status="submitted"),
        find_ticket(demo_desk, kind="refund"),
        make_app(demo_desk, "alice"),
    )


async def _opened(pilot, app, reference: str):
    """The detail screen after opening `reference` from the queue."""
    await settle(pilot)
    app.open_ticket(reference)
    await settle(pilot)
    return app.screen


async def test_a_late_read_of_the_previous_ticket_is_dropped(demo_desk):
    from screens.ticket_detail import TicketDetailScreen, load_detail

    a, b, app = _two_tickets(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _opened(pilot, app, a.reference)
        stale_gen = screen._gen
        with demo_desk.reader() as s:
            old = load_detail(s, a.reference, app.actor)
        await pilot.press("escape")
        await settle(pilot)
        app.open_ticket(b.reference)
        await settle(pilot)
        screen.post_message(TicketDetailScreen.Loaded(old, gen=stale_gen))  # e.g. a reload still running for A
        screen.post_message(TicketDetailScreen.Moved(99, "bob", gen=stale_gen))
        await settle(pilot)
        assert screen.data.ticket.reference == b.reference
        assert a.reference not in screen_text(app) and b.reference in screen_text(app)


async def test_a_slow_read_shows_the_kept_screen_loading_then_the_ticket(demo_desk):
    a, b, app = _two_tickets(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _opened(pilot, app, a.reference)
        await pilot.press("escape")
        await settle(pilot)
        app._push_detail(b.reference, None)  # what OPEN_PATIENCE does when the read is slow
        assert screen.data is None and screen.reference == b.reference
        await settle(pilot)
        assert app.screen is screen and screen.data.ticket.reference == b.reference
        text = screen_text(app)
        assert b.reference in text and a.reference not in text and "loading…" not in text


# -- one frame per open and per back (widgets/kept_screen.py) ---------------------------
async def test_the_kept_detail_screen_owes_no_layout_when_pushed(demo_desk):
    """Widgets changed while the screen is off the stack hand their layout to it
    before the push: the frame that shows the ticket is laid out, no second one."""
    from textual.widget import Widget

    a = find_ticket(demo_desk, kind="complaint", status="submitted")
    b = find_ticket(demo_desk, kind="complaint", status="investigation")
    app = make_app(demo_desk, "alice")
    owed = []
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app.open_ticket(a.reference)
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        original = app.push_screen

        def spy(screen, *args, **kwargs):
            owed.extend(w for w in screen.walk_children(Widget) if w._layout_required or w._repaint_required)
            return original(screen, *args, **kwargs)

        app.push_screen = spy
        app.open_ticket(b.reference)
        await settle(pilot)
        assert app.screen.reference == b.reference
        assert owed == []


async def test_back_to_the_queue_neither_restyles_nor_refocuses_it(demo_desk):
    """Back is one frame of the queue as it was: no restyle of its nodes (the
    stylesheet did not change) and no focus() on the focused table (it repaints)."""
    from screens.queue import QueueScreen

    t = find_ticket(demo_desk, kind="complaint", status="investigation")
    app = make_app(demo_desk, "alice")
    calls = []
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        queue = app.screen
        app.open_ticket(t.reference)
        await settle(pilot)
        await pilot.press("escape")  # the first back restyles: the detail's stylesheet came in meanwhile
        await settle(pilot)
        app.open_ticket(t.reference)
        await settle(pilot)
        queue.update_node_styles = lambda *a, **k: calls.append("restyle")
        queue.table.focus = lambda *a, **k: calls.append("focus")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen) and queue.focused is queue.table
        assert calls == []


async def test_a_filter_character_changes_the_title_with_its_echo_and_no_layout(demo_desk):
    """The queue hears the filter's value as it changes (a watcher, not a message a
    frame later), and its one-line bars repaint without laying the screen out."""
    from textual.widgets import Input, Static

    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        screen = app.screen
        title = screen.query_one("#queue-title", Static)
        views = screen.query_one("#queue-views", Static)
        before = views.content
        screen.query_one(Input).insert_text_at_cursor("t")
        assert "filter: t" in str(title.content)  # already, before any frame
        assert views.content is before  # unchanged: not even repainted
        assert not title._layout_required
        await settle(pilot)
        assert "filter: t" in str(title.render())
