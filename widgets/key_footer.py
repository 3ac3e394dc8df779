"""A Footer that rebuilds its keys only when they change.

Textual's Footer removes and mounts all its key widgets whenever the screen
publishes a bindings update (every focus change, every screen resume), which
costs tens of milliseconds per key press on the console's screens. This one
compares what it would show with what it shows and skips identical rebuilds.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

from widgets.textual_compat import FooterKey


class KeyFooter(Footer):
    """Footer with the same look, recomposed only on a real change."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None

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
        yield from super().compose()

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
        key.key, key.key_display = binding.key, app.get_key_display(binding)
        key.description, key.action = binding.description, binding.action
        key.tooltip = tooltip or None
        key.display = True
        key.refresh(layout=True)
    for key in keys[len(items) :]:
        key.display = False  # spare: shown again when a ticket has more keys
    footer.styles.grid_size_columns = len(items)
    footer._shown = want
    return True
