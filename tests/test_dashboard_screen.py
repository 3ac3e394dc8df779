"""The wall display screen: no customer data on screen, stale database,
kiosk flag, read-only bindings, role check (Pilot, real demo desk)."""

from __future__ import annotations

import html
import re
import sqlite3
import time

import pytest
from sqlalchemy import create_engine, select

from app.cli.main import main
from app.config import DeskConfig
from app.db import Desk
from app.identity import Actor
from app.wall import WallApp
from conftest import frozen_now
from models import Customer, Message, Staff, Ticket
from screens.dashboard import DashboardScreen
from widgets.key_footer import KeyFooter
from widgets.tiles import NumberTile

SUPERVISOR = Actor(12, "olivia", "Olivia Brown", "supervisor")


def wall(desk, actor=SUPERVISOR, kiosk=False) -> WallApp:
    return WallApp(desk, actor, DeskConfig(), now=frozen_now, kiosk=kiosk, refresh_seconds=3600)


async def settle(app, pilot) -> DashboardScreen:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, DashboardScreen)
    return screen


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def svg_text(svg: str) -> str:
    """All text of an exported screenshot, one string per line of the terminal."""
    parts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return html.unescape("".join(parts)).replace("\xa0", " ")


def customer_strings(desk) -> set[str]:
    with desk.reader() as s:
        staff_names = {n for (n,) in s.execute(select(Staff.name))}
        found: set[str] = set()
        for name, email, phone in s.execute(select(Customer.name, Customer.email, Customer.phone)):
            if name and name not in staff_names:
                found.add(name)
            found.update(x for x in (email, phone) if x)
        found.update(subj for (subj,) in s.execute(select(Ticket.subject)) if subj)
        found.update(subj for (subj,) in s.execute(select(Message.subject)) if subj)
    return {x.strip() for x in found if len(x.strip()) >= 4}


@pytest.mark.parametrize("size", [(80, 24), (160, 50), (250, 70)])
async def test_no_customer_data_anywhere_on_screen(demo_desk, size):
    secrets = customer_strings(demo_desk)
    assert len(secrets) > 300  # names, emails, phones and subjects of the demo
    app = wall(demo_desk)
    async with app.run_test(size=size) as pilot:
        screen = await settle(app, pilot)
        assert screen.data is not None
        text = screen_text(app)
        svg = svg_text(app.export_screenshot())
    assert "SLA health" in text and "SLA health" in svg
    flat_text, flat_svg = " ".join(text.split()), " ".join(svg.split())
    leaked = [
        x
        for x in secrets
        if x in text or x in svg or " ".join(x.split()) in flat_text or " ".join(x.split()) in flat_svg
    ]
    assert leaked == []
    # what the wall does show: references of breached tickets
    assert screen.data.breached[0].reference in text


async def test_the_pii_check_would_catch_a_leak(demo_desk):
    """Control: put one customer's email on screen and the same check finds it."""
    from rich.text import Text

    with demo_desk.reader() as s:
        email = s.scalar(select(Customer.email).limit(1))
    app = wall(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        app.screen.query_one("#dash-title").update(Text(email))
        await pilot.pause()
        assert email in screen_text(app) and email in svg_text(app.export_screenshot())


async def test_tiles_show_the_snapshot(demo_desk):
    app = wall(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await settle(app, pilot)
        data = screen.data
        for tile in data.tiles():
            widget = app.screen.query_one(f"#tile-{tile.key}", NumberTile)
            assert widget.value == tile.value
            assert widget.has_class("-alarm") == (tile.alarm and tile.value > 0)
        assert "updated 12:00:00" in screen_text(app)  # FROZEN_NOW in Europe/Tallinn


async def test_stale_database_keeps_figures_and_recovers(demo_desk, tmp_path):
    app = wall(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await settle(app, pilot)
        good = screen.data
        breached_tile = app.screen.query_one("#tile-breached_now", NumberTile).value
        # the database becomes unreachable (a directory is no database file)
        broken = Desk(create_engine(f"sqlite:///{tmp_path}"))
        app.desk = broken
        await pilot.press("r")
        screen = await settle(app, pilot)
        text = screen_text(app)
        assert "STALE since 12:00" in text
        assert screen.data is good  # the last figures stay up
        assert app.screen.query_one("#tile-breached_now", NumberTile).value == breached_tile
        assert app.screen.query_one("#dash-status").has_class("-stale")
        assert screen.failures == 1
        # the next refresh after the database is back clears it
        app.desk = demo_desk
        screen.refresh_figures()
        screen = await settle(app, pilot)
        assert "STALE" not in screen_text(app)
        assert not app.screen.query_one("#dash-status").has_class("-stale")
        assert screen.refreshes >= 2
        broken.dispose()


async def test_unreachable_from_the_start_says_so(tmp_path, demo_desk):
    broken = Desk(create_engine(f"sqlite:///{tmp_path}"))
    app = wall(broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert "no figures yet" in screen_text(app)
    broken.dispose()


async def test_a_damaged_desk_is_named_as_damaged(tmp_path):
    """The wall words a failure as the CLI does: a desk missing its tables is
    damaged (restore a backup), not a server that cannot be reached."""
    path = tmp_path / "damaged.sqlite"
    sqlite3.connect(path).executescript("CREATE TABLE other (x); INSERT INTO other VALUES (1);")
    broken = Desk(create_engine(f"sqlite:///{path}"))
    app = wall(broken)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "no figures yet" in text and "restore a backup" in text and "unreachable" not in text
    broken.dispose()


async def test_kiosk_hides_the_footer(demo_desk):
    for kiosk, footers in ((False, 1), (True, 0)):
        app = wall(demo_desk, kiosk=kiosk)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(app, pilot)
            assert len(app.screen.query(KeyFooter)) == footers


async def test_no_binding_changes_data(demo_desk):
    def fingerprint():
        with demo_desk.reader() as s:
            return [tuple(r) for r in s.execute(select(Ticket.id, Ticket.version, Ticket.updated_at, Ticket.status))]

    before = fingerprint()
    app = wall(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await settle(app, pilot)
        actions = {b.action for b in screen.BINDINGS}
        assert actions == {"refresh_now", "leave"}
        for key in ("r", "r", "a", "e", "x", "enter", "space", "d", "delete"):
            await pilot.press(key)
        await settle(app, pilot)
    assert fingerprint() == before


async def test_refresh_runs_on_a_timer(demo_desk):
    app = WallApp(demo_desk, SUPERVISOR, DeskConfig(), now=frozen_now, refresh_seconds=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        # each tick starts an exclusive refresh that cancels one still running (a
        # loaded machine): wait for three to finish, not for the workers to settle
        deadline = time.monotonic() + 10
        while app.screen.refreshes < 3 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert app.screen.refreshes >= 3


async def test_an_agent_sees_no_figures(demo_desk):
    app = wall(demo_desk, actor=Actor(1, "alice", "Alice Tamm", "agent"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(app, pilot)
        assert screen.data is None
        assert "may not view the dashboard" in screen_text(app)


def test_cli_refuses_an_agent(demo_url, capsys):
    assert main(["--db", demo_url, "--as", "alice", "dashboard"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "may not open the dashboard" in err[0]


def test_cli_refuses_a_bad_refresh(demo_url, capsys):
    assert main(["--db", demo_url, "--as", "olivia", "dashboard", "--refresh", "0"]) == 2
    assert "--refresh must be a positive" in capsys.readouterr().err


def test_domain_module_does_not_import_textual():
    import subprocess
    import sys

    code = (
        "import sys, app.dashboard_data, app.cli.dashboard_cmd; assert 'textual' not in sys.modules, 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))


async def test_console_opens_the_dashboard_and_escape_returns(demo_desk):
    """Supervisors reach the wall display from the console with `d`."""
    console = pytest.importorskip("app.console")
    app_cls = next(
        v
        for v in vars(console).values()
        if isinstance(v, type) and v.__module__ == "app.console" and hasattr(v, "action_dashboard")
    )
    app = app_cls(demo_desk, SUPERVISOR, DeskConfig(), now=frozen_now)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        before = app.screen
        app.action_dashboard()
        screen = await settle(app, pilot)
        assert screen.data is not None and screen.data.breached_now > 0
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is before
