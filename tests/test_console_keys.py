"""The type-ahead mechanism itself (app.console_keys), on a minimal App: a
key goes to the widget focused once the keys before it were handled."""

from __future__ import annotations

import asyncio

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static

from app.console_keys import TypeAheadApp
from typing_helpers import burst


class SlowPrompt(Screen):
    """Composes slowly, focuses its input at the end of mounting."""

    def compose(self) -> ComposeResult:
        yield Input(id="slow-input")

    async def on_mount(self) -> None:
        await asyncio.sleep(0.2)
        self.query_one(Input).focus()


class Vanishing(Static, can_focus=True):
    """Focused; removes itself on x (the marker behind the key is lost with it)."""

    def on_key(self, event: events.Key) -> None:
        if event.key == "x":
            event.stop()
            self.remove()


class Home(Screen):
    BINDINGS = [Binding("p", "prompt", "Prompt")]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[str] = []

    def compose(self) -> ComposeResult:
        yield Vanishing("home", id="home-static")

    def on_mount(self) -> None:
        self.query_one(Vanishing).focus()

    def action_prompt(self) -> None:
        self.app.push_screen(SlowPrompt())

    def on_key(self, event) -> None:
        self.got.append(event.key)


class Keys(TypeAheadApp):
    BINDINGS = [Binding("q", "record('q')", "Quit")]

    def __init__(self) -> None:
        super().__init__()
        self.fired: list[str] = []

    def get_default_screen(self) -> Screen:
        return Home()

    def action_record(self, what: str) -> None:
        self.fired.append(what)


async def test_keys_typed_while_a_screen_mounts_go_into_it():
    app = Keys()
    async with app.run_test() as pilot:
        await burst(pilot, "p", "quick brown fox")
        assert isinstance(app.screen, SlowPrompt)
        assert app.screen.query_one(Input).value == "quick brown fox"
        assert app.fired == []  # the q went into the input, not to the App's binding


async def test_a_hold_keeps_keys_until_released_or_expired():
    app = Keys()
    async with app.run_test() as pilot:
        home = app.screen
        app.hold_keys("reading")
        for ev_key in "ab":
            app.post_message(events.Key(ev_key, ev_key))
        await asyncio.sleep(0.2)
        assert home.got == [] and app.keys_waiting == 2
        app.release_keys("reading")
        await burst(pilot)
        assert home.got == ["a", "b"]
        app.hold_keys("stuck", seconds=0.3)  # never released: the keys go after 0.3 s
        await burst(pilot, "c")
        assert home.got == ["a", "b", "c"]


async def test_the_next_key_goes_when_the_widget_it_went_to_is_removed():
    app = Keys()
    async with app.run_test() as pilot:
        home = app.screen
        await burst(pilot, "x", "y", "z", timeout=5)
        assert not home.query("#home-static")
        assert home.got == ["y", "z"]  # x was handled (and stopped) by the removed widget
