"""What a screen kept for the app's life does to come back in one frame.

Textual restyles every node of a screen each time it is shown again (~30 ms on
the queue or the ticket detail), and a widget changed while its screen was off
the stack lays itself out only after the screen's first frame, painting a
second one. `KeptScreen` restyles only when the stylesheet changed since it
was last styled (a theme, another screen's CSS loaded); `settle_before_push`
hands the screen its widgets' pending layout before it is pushed, so the
frame that shows it is the complete one, and that layout paints the whole
screen (Textual would paint what the layout changed, then all of it again
for the screen's return on top: two frames).

A kept screen also paints what changed (a cursor move, a page of rows, a
typed filter character, the screen itself shown) as soon as it and the app
are idle: Textual paints on a 60 fps timer whose next tick after a paint is
one to two periods away, so a key pressed just after a frame waited up to
33 ms for its frame while the work itself took 2-6 ms. Keys queued behind it
(type-ahead) leave the paint to the timer, which paints their result
together. Each time a screen has something to paint it
tells the app (`screen_changed`), whose full garbage collection waits for a
moment with nothing to paint (app.console).
"""

from __future__ import annotations

from textual import events
from textual.screen import Screen
from textual.widget import Widget

from widgets.textual_compat import flush_refresh, idle, layout_owed, paint_now, paint_owed, paint_whole_with_layout


class KeptScreen(Screen):
    """A screen shown again and again: no full restyle on an unchanged stylesheet."""

    _styled_with: object | None = None  # the stylesheet rules it was last styled with

    def _on_idle(self, event: events.Idle) -> None:
        # Runs before Screen's own handler, which would leave the paint to the frame timer.
        self.paint_if_idle()

    def paint_if_idle(self) -> None:
        """Paint what this screen owes now, unless more is on its way: keys
        queued, the app's own messages (a screen popped under this one asks
        for a second repaint), a widget's repaint not posted yet. The app
        calls this too when it goes idle (app.console)."""
        if not paint_owed(self) or not self.is_current:
            return
        app = self.app
        changed = getattr(app, "screen_changed", None)
        if changed is not None:
            changed()  # (the app's full garbage collection waits for a quiet moment)
        if getattr(app, "keys_waiting", 0) > 1 or not idle(app):
            return  # (keys_waiting counts the key being handled, if any)
        for widget in self.walk_children(Widget, with_self=False):
            flush_refresh(widget)  # a widget's repaint not posted yet (a scrollbar moved with its table)
        if idle(self):  # else this paint waits for those, at the next idle
            paint_now(self)

    def _on_mount(self, event: events.Mount) -> None:
        # Its widgets were styled as they mounted, and the stylesheet is the same when it is
        # first shown: no restyle of them all again then (~8 ms of the console's start).
        self._styled_with = self.app.stylesheet.rules

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen's own handler (Textual calls each class's handler, subclass first).
        rules = self.app.stylesheet.rules
        if rules is self._styled_with:
            event.refresh_styles = False
        self._styled_with = rules
        if layout_owed(self):  # filled while off the stack (settle_before_push): one frame, not two
            self.call_next(paint_whole_with_layout, self)  # after Screen's handler asks for its repaint


def settle_before_push(screen: Screen) -> None:
    """Post the layout and repaint its widgets still owe to `screen` (mounted,
    off the stack), so it lays them out with its first frame when pushed."""
    for widget in screen.walk_children(Widget, with_self=False):
        flush_refresh(widget)
