"""Pilot tests for the console's key paths (real demo desk, frozen clock)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from conftest import FROZEN_NOW
from console_helpers import (
    counting_source,
    find_ticket,
    make_app,
    queue_rows,
    queue_showing,
    reload_ticket,
    screen_text,
    settle,
)


async def open_ticket(pilot, reference: str) -> None:
    """From the queue: filter to the reference and press enter, like a person."""
    await pilot.press("slash")
    await pilot.press(*list(reference))
    await settle(pilot)
    await pilot.press("enter")  # leaves the filter box for the table
    await settle(pilot)
    await pilot.press("enter")  # opens the highlighted ticket
    await settle(pilot)


async def write(pilot, text: str) -> None:
    await pilot.press(*list(text))
    await pilot.press("ctrl+s")
    await settle(pilot)


async def send(pilot, text: str = "") -> None:
    """Write `text` (if any) into the open prompt, then confirm the mail preview."""
    if text:
        await write(pilot, text)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def test_queue_shows_rows_and_counts(demo_desk):
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "400 tickets" in text
        assert "Reference" in text and "SLA" in text
        assert "BREACHED" in text
        table = app.screen.table
        assert table.row_count == 400
        assert len(table.cache) < 400 or table.row_count <= 400


async def test_views_and_sort_keys(demo_desk):
    from app import queue_query as qq

    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        for key, view in zip("123456789", [v for v, _ in qq.VIEWS], strict=False):
            await pilot.press(key)
            await settle(pilot)
            with demo_desk.reader() as s:
                expected = qq.count(s, qq.QueueQuery(view=view, actor_id=app.actor.id), FROZEN_NOW)
            assert app.screen.view == view
            assert app.screen.table.row_count == expected
            assert f"{expected:,} tickets" in screen_text(app)
        await pilot.press("s")
        await settle(pilot)
        assert app.screen.sort == "age" and "sort: age" in screen_text(app)


async def test_cursor_moves_and_pages_fetch_rows_in_view(demo_desk):
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table
        await pilot.press("j", "j", "down")
        assert table.cursor == 3
        await pilot.press("k")
        assert table.cursor == 2
        await pilot.press("G")
        await settle(pilot)
        assert table.cursor == 399
        assert 399 in table.cache
        last = table.cache[399].reference
        assert last in screen_text(app)
        await pilot.press("g")
        await settle(pilot)
        assert table.cursor == 0 and table.scroll_offset.y == 0


async def test_table_asks_only_for_windows_of_a_huge_source(demo_desk):
    """100,000 rows behind the table: it fetches windows, never the whole list."""
    from widgets.ticket_table import KEEP

    source = counting_source(queue_rows(100_000))
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await queue_showing(pilot, source)
        assert table.row_count == 100_000
        await pilot.press("G")
        await settle(pilot)
        assert table.cursor == 99_999 and "CMP-2026-099999" in screen_text(app)
        await pilot.press("pageup", "pageup")
        await settle(pilot)
        assert all(limit < 1000 for _, limit in source.calls)
        assert len(table.cache) <= 2 * KEEP + 300
        assert "CMP-2026-099" in screen_text(app)


async def test_filter_as_you_type_and_escape_clears(demo_desk):
    t = find_ticket(demo_desk, kind="refund")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *list(t.reference))
        await settle(pilot)
        assert app.screen.table.row_count == 1
        assert t.reference in screen_text(app)
        await pilot.press("enter", "escape")
        await settle(pilot)
        assert app.screen.text == "" and app.screen.table.row_count == 400


async def test_open_and_back(demo_desk):
    from screens.queue import QueueScreen
    from screens.ticket_detail import TicketDetailScreen

    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        ref = app.screen.table.current.reference
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketDetailScreen)
        assert ref in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)


async def test_walk_a_complaint_through_all_nine_steps(demo_desk):
    """1 submitted → 2 acknowledge → 3 request info → 4 investigate → 5 propose →
    6 communicate → 7 customer not satisfied → 8 escalate → 9 final response (by an eligible senior)."""
    t = find_ticket(demo_desk, kind="complaint", status="submitted")
    ref = t.reference
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await open_ticket(pilot, ref)
        screen = app.screen
        assert screen.data.ticket.reference == ref
        assert "acknowledge" in screen.data.actions and "propose" not in screen.data.actions
        footer = screen_text(app).splitlines()[-1]
        assert "Acknowledge" in footer and "Propose" not in footer

        await pilot.press("a")
        await send(pilot)
        assert reload_ticket(demo_desk, ref).status == "acknowledged"

        await pilot.press("f")
        await send(pilot, "Please send the eSIM ICCID.")
        assert reload_ticket(demo_desk, ref).status == "information_gathering"

        await pilot.press("i")
        await settle(pilot)
        assert reload_ticket(demo_desk, ref).status == "investigation"

        await pilot.press("n")
        await write(pilot, "Checked the network logs.")
        assert "Checked the network logs." in screen_text(app)
        assert "INTERNAL NOTE" in screen_text(app)

        await pilot.press("p")
        await send(pilot, "We reissue the profile.")
        assert reload_ticket(demo_desk, ref).status == "resolution_proposed"

        await pilot.press("m")
        await pilot.press("ctrl+s")  # the prompt is prefilled with the proposal
        await send(pilot)
        assert reload_ticket(demo_desk, ref).status == "resolution_communicated"

        await pilot.press("e")
        await send(pilot, "Still broken.")
        complaint = reload_ticket(demo_desk, ref)
        assert complaint.status == "escalated"
    from models import Ticket

    with demo_desk.reader() as s:
        esc = s.exec(select(Ticket).where(Ticket.escalation_of_id == complaint.id)).one()
        esc_ref = esc.reference

    app2 = make_app(demo_desk, "sofia")
    async with app2.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        assert esc_ref in screen_text(app2)
        table = app2.screen.query_one("TicketTable")
        index = next(i for i, r in table.cache.items() if r.reference == esc_ref)
        await pilot.press(*["j"] * index)
        await settle(pilot)
        text = screen_text(app2)
        assert "We reissue the profile." in text and "Still broken." in text  # resolution beside the reason
        await pilot.press("escape")
        await open_ticket(pilot, esc_ref)
        assert "take_review" in app2.screen.data.actions
        await pilot.press("v")
        await settle(pilot)
        assert reload_ticket(demo_desk, esc_ref).status == "in_review"
        await pilot.press("F")
        await send(pilot, "Final: we refund in full.")
        assert reload_ticket(demo_desk, esc_ref).status == "closed"
        assert reload_ticket(demo_desk, ref).status == "closed"
        assert reload_ticket(demo_desk, ref).close_reason == "final_response"


async def test_ineligible_senior_is_refused(demo_desk):
    from app.workflow import add_note

    esc = find_ticket(demo_desk, kind="escalation", status="submitted")
    with demo_desk.reader() as s:
        from models import Ticket

        complaint_ref = s.get(Ticket, esc.escalation_of_id).reference
    # marek touches the original complaint: he may no longer review its escalation
    with demo_desk.session() as s:
        from app.identity import resolve_actor

        marek = resolve_actor(s, "marek")
        add_note(s, marek, complaint_ref, "looked at it", now=FROZEN_NOW)
    app = make_app(demo_desk, "marek")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        assert esc.reference not in screen_text(app)  # not in his escalation queue
        await pilot.press("escape")
        await open_ticket(pilot, esc.reference)
        screen = app.screen
        assert "take_review" not in screen.data.actions
        await pilot.press("v")  # not offered: nothing happens
        await settle(pilot)
        assert reload_ticket(demo_desk, esc.reference).reviewer_id is None
        # even if he tries through the service, the refusal is a notification
        from app.workflow.actions import BY_ID

        screen.run_service("review taken", screen.service_call(BY_ID["take_review"]))
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert any("marek" in m and "initial handling" in m for m in notes), notes
        assert reload_ticket(demo_desk, esc.reference).reviewer_id is None


async def test_stale_edit_names_who_changed_it_and_reloads(demo_desk):
    from app.identity import resolve_actor
    from app.workflow import add_note

    t = find_ticket(demo_desk, kind="complaint", status="submitted")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await open_ticket(pilot, t.reference)
        screen = app.screen
        screen.busy = True  # hold the live reload so the next press uses the old version
        with demo_desk.session() as s:
            add_note(s, resolve_actor(s, "bob"), t.reference, "bob was here", now=FROZEN_NOW)
        await pilot.press("a")
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert any("changed by bob" in m for m in notes), notes
        assert reload_ticket(demo_desk, t.reference).status == "submitted"
        await settle(pilot)
        assert "bob was here" in screen_text(app)


async def test_colleague_change_reaches_the_queue_within_two_seconds(demo_desk):
    import asyncio

    from app.identity import resolve_actor
    from app.workflow import acknowledge

    t = find_ticket(demo_desk, kind="complaint", status="submitted")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *list(t.reference), "enter")
        await settle(pilot)
        assert "acknowledged" not in screen_text(app)  # shown as "new"
        with demo_desk.session() as s:
            acknowledge(s, resolve_actor(s, "bob"), t.reference, now=FROZEN_NOW, config=app.config)
        for _ in range(20):
            await asyncio.sleep(0.1)
            await pilot.pause()
            if "acknowledged" in screen_text(app):
                break
        assert "acknowledged" in screen_text(app)


async def test_presence_shows_who_else_is_here(demo_desk):
    from app.presence import heartbeat

    t = find_ticket(demo_desk, kind="complaint", status="investigation")
    with demo_desk.reader() as s:
        pass
    with demo_desk.session() as s:
        heartbeat(s, "other-console", "alice", t.id, FROZEN_NOW)
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await open_ticket(pilot, t.reference)
        await settle(pilot)
        assert "also here: alice" in screen_text(app)


async def test_quarantine_release_creates_a_ticket(demo_desk):
    from models import Quarantine

    with demo_desk.reader() as s:
        held = s.exec(select(Quarantine).where(Quarantine.state == "held")).all()
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        assert f"{len(held)} held" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("enter")  # first choice: inquiry
        await settle(pilot)
        assert f"{len(held) - 1} held" in screen_text(app)
        notes = [n.message for n in app._notifications]
        assert any(m.startswith("released as INQ-") for m in notes), notes
    with demo_desk.reader() as s:
        released = s.exec(select(Quarantine).where(Quarantine.state == "released")).one()
        assert released.resolved_by == "olivia" and released.ticket_id


async def test_help_lists_the_screens_keys(demo_desk):
    from screens.help import HelpScreen

    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Filter" in text and "Sort" in text and "My tickets" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_keys_are_remappable_from_config(demo_desk):
    from app.config import DeskConfig

    app = make_app(demo_desk, config=DeskConfig(keys={"sort": "o", "view_2": "u"}))
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        assert app.screen.sort == "age"
        await pilot.press("u")
        assert app.screen.view == "unassigned"


async def test_palette_lists_every_action(demo_desk):
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for words in (
            "Filter",
            "Sort",
            "My tickets",
            "Breached",
            "Quit",
            "Help",
            "Escalation queue",
            "Quarantine",
            "Dashboard",
        ):
            assert words in titles, titles


async def test_agent_has_no_dashboard_key(demo_desk):
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        assert "Dashboard" not in screen_text(app).splitlines()[-1]


def test_unknown_os_account_is_refused_before_any_screen(demo_url, capsys):
    from app.cli.main import main

    code = main(["--db", demo_url, "--as", "nobody-here"])
    err = capsys.readouterr()
    assert code == 2
    assert "not registered as staff" in err.err and err.err.count("\n") == 1
    assert "CMP-" not in err.out + err.err


async def test_hostile_names_render_as_plain_text(demo_desk):
    from screens.ticket_detail import TicketDetailScreen

    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        from models import Customer, Ticket

        cases = []
        with demo_desk.reader() as s:
            for needle, shown in (
                ("Mallory", "[bold red]Mallory[/] [@click=app.quit]x[/]"),
                ("Evil", "Eve Evil"),
                ("Trudy", "Trudy gnp.exe"),
            ):
                has = s.exec(
                    select(Ticket.id)
                    .join(Customer, Customer.id == Ticket.customer_id)
                    .where(Customer.name.like(f"%{needle}%"))
                ).first()
                if has:
                    cases.append((needle, shown))
        assert cases, "the demo desk has hostile customers with tickets"
        for needle, shown in cases:
            await pilot.press("slash", *list(needle))
            await settle(pilot)
            text = screen_text(app)
            assert shown[:22] in text, text
            await pilot.press("enter", "enter")
            await settle(pilot)
            assert isinstance(app.screen, TicketDetailScreen)
            detail = screen_text(app)
            assert shown in detail and "\x1b" not in detail
            await pilot.press("escape", "escape")
            await settle(pilot)
        assert app.is_running  # the [@click=app.quit] name did nothing


async def test_w_opens_the_refund_wizard_on_a_refund_ticket(demo_desk):
    pytest.importorskip("screens.refund_wizard")
    from screens.refund_wizard import RefundWizardScreen

    t = find_ticket(demo_desk, kind="refund", status="under_review")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await open_ticket(pilot, t.reference)
        assert "refund_wizard" in app.screen.data.actions
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, RefundWizardScreen)


async def test_d_opens_the_dashboard_for_a_supervisor(demo_desk):
    pytest.importorskip("screens.dashboard")
    from screens.dashboard import DashboardScreen

    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
