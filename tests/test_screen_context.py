"""The App hands screens one typed context (issue 18, point 5): desk, actor,
config, the clock and the calendar, instead of attribute probes."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.config import DeskConfig
from app.identity import Actor
from app.screen_context import ScreenContext

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
ACTOR = Actor(id=1, login="alice", name="Alice", role="agent")
# what a screen reads of its App: only through self.ctx
PROBE = re.compile(
    r"(getattr|hasattr)\(self\.app,\s*\"(desk|actor|config|now|calendar|is_wall)\""
    r"|\bself\.app\.(desk|actor|config|now|calendar)\b|(?<![\w.])app\.(desk|actor|config|now|calendar)\b"
)


def test_screens_and_widgets_read_the_context_not_the_app():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("screens", "widgets")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PROBE.search(line)
    ]
    assert found == []


def test_the_probe_check_would_catch_one():
    assert PROBE.search('        actor = getattr(self.app, "actor", None)')
    assert PROBE.search("        with self.app.desk.reader() as s:")
    assert PROBE.search("            now = app.now()")
    assert not PROBE.search("        with self.ctx.desk.reader() as s:") and not PROBE.search("self.app.exit()")


def test_the_context_is_frozen_and_builds_the_calendar_on_first_use():
    ctx = ScreenContext(object(), ACTOR, DeskConfig(), lambda: NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.actor = ACTOR  # type: ignore[misc]
    assert "calendar" not in vars(ctx)  # not built yet
    assert ctx.calendar.tz.key == "Europe/Tallinn" and ctx.calendar is ctx.calendar
    assert ctx.now() == NOW and not ctx.wall


def test_the_apps_attributes_live_in_their_context():
    from app.console import EsimdeskApp
    from app.wall import WallApp

    app = EsimdeskApp(object(), ACTOR, None, now=lambda: NOW)
    assert app.context.actor is ACTOR and app.config == DeskConfig() and app.now() == NOW and not app.context.wall
    other = dataclasses.replace(DeskConfig(), at_risk_share=0.5)
    app.config = other  # a test (or a reload) replaces it: screens see the new one
    assert app.context.config is other and app.calendar is app.context.calendar
    wall = WallApp(object(), ACTOR, DeskConfig(), lambda: NOW)
    assert wall.context.wall and wall.desk is wall.context.desk


async def test_a_screen_reads_its_apps_context():
    from textual.app import App
    from textual.screen import Screen

    from app.screen_context import ContextHolder, UsesContext

    class Probe(UsesContext, Screen):
        pass

    class Host(ContextHolder, App):
        def __init__(self) -> None:
            super().__init__()
            self.context = ScreenContext(object(), ACTOR, DeskConfig(), lambda: NOW)

        def on_mount(self) -> None:
            self.push_screen(Probe())

    host = Host()
    async with host.run_test() as pilot:
        await pilot.pause()
        assert host.screen.ctx is host.context and host.screen.ctx.actor.login == "alice"
