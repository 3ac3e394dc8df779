"""The screen's keys on the bottom line, drawn by one widget.

Textual's Footer mounts a widget per key and composes them all again whenever
the screen publishes a bindings update (every focus change, every screen
resume): each key widget is styled, measured and laid out on its own, about
45 ms of the console's start and most of the footer's share of a ticket
open. This footer keeps the same look (each key, then what it does; the
command palette's key on the right) as one line of text: a change of keys is
one repaint of one line, and no layout.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class FooterItem(NamedTuple):
    """One key as the footer shows it."""

    key: str  # what simulate_key() presses when it is clicked
    display: str  # how the key is written (⏎, ^p, ?)
    description: str
    enabled: bool


class KeyFooter(Widget, can_focus=False):
    """The keys of the focused widget, its screen and the app, on one line."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"footer-key--key", "footer-key--description", "footer-key--divider"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        & > .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .footer-key--divider {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: tuple[tuple[FooterItem, ...], FooterItem | None] | None = None
        self._spans: list[tuple[int, int, FooterItem]] = []  # (first cell, end cell, key) as last drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.fit()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.fit()

    def _signature(self) -> tuple[tuple[FooterItem, ...], FooterItem | None]:
        """The keys to show now: the screen's shown bindings (one per action,
        in the order Textual gives them) and the command palette's key."""
        app = self.app
        bindings = self.screen.active_bindings
        items: dict[str, FooterItem] = {}
        for _node, binding, enabled, _tooltip in bindings.values():
            if binding.show:
                items.setdefault(
                    binding.action, FooterItem(binding.key, app.get_key_display(binding), binding.description, enabled)
                )
        palette: FooterItem | None = None
        found = bindings.get(app.COMMAND_PALETTE_BINDING) if app.ENABLE_COMMAND_PALETTE else None
        if found is not None:
            _node, binding, enabled, _tooltip = found
            palette = FooterItem(binding.key, app.get_key_display(binding), binding.description, enabled)
        return tuple(items.values()), palette

    def fit(self) -> bool:
        """Show the screen's current keys (a repaint of this line when they
        changed); True when they changed."""
        shown = self._signature()
        if shown == self._shown:
            return False
        self._shown = shown
        self.refresh()
        return True

    def render(self) -> Text:
        items, palette = self._shown if self._shown is not None else self._signature()
        key_style = self.get_component_rich_style("footer-key--key")
        description_style = self.get_component_rich_style("footer-key--description")
        dim = Style(dim=True)
        right = Text()
        if palette is not None:
            right = Text.assemble(
                ("▏", self.get_component_rich_style("footer-key--divider")),
                (palette.display, key_style),
                (f" {palette.description}", description_style),
                " ",
            )
        room = max(0, self.size.width - right.cell_len)
        left = Text(no_wrap=True, overflow="crop")
        spans: list[tuple[int, int, FooterItem]] = []
        for item in items:
            start = left.cell_len
            if start >= room:
                break
            extra = Style() if item.enabled else dim
            left.append(f" {item.display} ", key_style + extra)
            if item.description:
                left.append(f"{item.description} ", description_style + extra)
            spans.append((start, min(left.cell_len, room), item))
        left.truncate(room, overflow="crop", pad=True)
        if palette is not None:
            spans.append((room + 1, room + right.cell_len, palette))
        self._spans = spans
        return left + right

    def on_click(self, event: events.Click) -> None:
        for start, end, item in self._spans:
            if start <= event.x < end:
                event.stop()
                if item.enabled:
                    self.app.simulate_key(item.key)
                else:
                    self.app.bell()
                return
