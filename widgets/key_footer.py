"""A Footer that rebuilds its keys only when they change.

Textual's Footer removes and mounts all its key widgets whenever the screen
publishes a bindings update (every focus change, every screen resume), which
costs tens of milliseconds per key press on the console's screens. This one
compares what it would show with what it shows and skips identical rebuilds.
"""

from __future__ import annotations

import asyncio

from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Footer

from widgets.textual_compat import FooterKey


class SettledKey(FooterKey):
    """A footer key whose new size after a layout asks for no second layout
    (its virtual size only matters to a scrolling widget): a ticket whose
    keys differ from the last one's shows in one frame (widgets/section_text.py)."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)


class KeyFooter(Footer):
    """Footer with the same look, recomposed only on a real change."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # the layout that resized it (its keys changed) placed them already: no second layout
        return super()._size_updated(size, virtual_size, container_size, layout=False)

    def _signature(self) -> tuple:
        """What compose() would yield: the shown bindings and their state."""
        app = self.app
        items = []
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show or binding.action == "command_palette":
                items.append(
                    (
                        binding.key,
                        app.get_key_display(binding),
                        binding.description,
                        binding.action,
                        binding.group,
                        enabled,
                        tooltip,
                        binding.show,
                    )
                )
        return (self.show_command_palette, app.ENABLE_COMMAND_PALETTE, tuple(items))

    def compose(self):
        # Build the keys with the screen rather than one refresh later: a
        # screen whose bindings are known when it mounts (the ticket detail
        # opened with its data) then needs no second layout for its footer.
        if not self._bindings_ready and self.is_attached:
            self._bindings_ready = True
        if self._bindings_ready:
            self._shown = self._signature()
        for widget in super().compose():
            if type(widget) is FooterKey:
                widget.__class__ = SettledKey  # Footer makes them; the same key, laid out once
            yield widget

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        shown = self._signature()
        if shown == self._shown:
            return
        self._shown = shown
        await self.recompose()


def refit_footer(footer: KeyFooter) -> bool:
    """Give the footer's key widgets the screen's current keys in place
    (removing 15 widgets and mounting 15 costs ~35 ms a ticket). True when
    done or nothing changed; False when only a recompose fits (binding groups,
    disabled keys, more keys than widgets)."""
    want = footer._signature()
    if want == footer._shown:
        return True
    app = footer.app
    items: dict[str, tuple] = {}
    for _node, binding, enabled, tooltip in footer.screen.active_bindings.values():
        if binding.show:
            items.setdefault(binding.action, (binding, enabled, tooltip))
    if any(b.group is not None or not enabled for b, enabled, _t in items.values()):
        return False
    keys = [k for k in footer.query_children(FooterKey) if not k.has_class("-command-palette")]
    if len(keys) < len(items) or len(keys) != len(footer.children) - 1:
        return False
    for key, (binding, _enabled, tooltip) in zip(keys, items.values(), strict=False):
        shows = (binding.key, app.get_key_display(binding), binding.description, binding.action, tooltip or None)
        if key.display and (key.key, key.key_display, key.description, key.action, key.tooltip) == shows:
            continue  # this key stays as it is: no restyle, no measuring, no repaint
        key.key, key.key_display, key.description, key.action, key.tooltip = shows
        key.display = True
        key.refresh(layout=True)
    for key in keys[len(items) :]:
        key.display = False  # spare: shown again when a ticket has more keys
    footer.styles.grid_size_columns = len(items)
    footer._shown = want
    return True


async def grow_footer(footer: KeyFooter, count: int) -> None:
    """Mount hidden spare key widgets so the footer holds `count` keys (no
    palette key counted) for `refit_footer` to fill: done once for the most
    keys a screen may show, a ticket with more keys than the last no longer
    recomposes the footer (20-40 ms, a second layout)."""
    keys = list(footer.query_children(FooterKey))
    palette = [k for k in keys if k.has_class("-command-palette")]
    missing = count - (len(keys) - len(palette))
    if missing <= 0:
        return
    spares = [SettledKey("", "", "", "") for _ in range(missing)]
    for spare in spares:
        spare.display = False
    await footer.mount(*spares, before=palette[0] if palette else None)


def most_keys(screen: Screen) -> int:
    """How many keys `screen`'s footer may show at most (its and the app's shown bindings)."""
    return len({b.action for b in (*type(screen).BINDINGS, *type(screen.app).BINDINGS) if getattr(b, "show", False)})


async def fit_footer(footer: KeyFooter) -> None:
    """Bring `footer` to its screen's current keys before the screen is pushed,
    so its first frame has them: in place (a no-op when they are the same),
    with spare keys mounted once when it has too few, else composed again."""
    if refit_footer(footer):
        return
    await grow_footer(footer, most_keys(footer.screen))
    if refit_footer(footer):
        return
    done = asyncio.Event()

    async def run() -> None:
        try:
            await footer._recompose_if_changed()
        finally:
            done.set()

    footer.call_next(run)  # composes in the footer's own context (its keys bind to it)
    await done.wait()
