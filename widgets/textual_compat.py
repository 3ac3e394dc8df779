"""Every private part of Textual the console relies on, in one place.

The console reaches under Textual's public API in a few places, each for a
measured reason (a frame per ticket open, keys typed ahead of a prompt).
Each of those reaches is named here, and nowhere else calls them directly, so a
Textual upgrade has one list to check, and `tests/test_textual_compat.py`
fails as soon as one of them moves.

`TESTED_VERSION` is the Textual these were written against (pyproject pins
it); `problems()` says what no longer holds for the installed one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import textual

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump
    from textual.screen import Screen
    from textual.timer import Timer
    from textual.widget import Widget

TESTED_VERSION = "8.2.8"

# Private hooks esimdesk overrides or sets in subclasses (name -> where, why).
OVERRIDDEN = {
    "App._background_screens": "app/console.py: no repaint of screens covered by an opaque one",
    "Screen._on_idle": "widgets/kept_screen.py: paint what a key changed when the screen is next idle, "
    "not at the frame timer's next tick (up to two frames, 33 ms, later)",
    "App._on_idle": "app/console.py: the same when the app is idle last",
    "Screen._on_screen_resume": "widgets/kept_screen.py: skip the full restyle when the stylesheet is unchanged; "
    "screens/ticket_detail.py (a KeptScreen): restart its clocks when shown again",
    "ScrollView._size_updated": "widgets/ticket_table.py: no scrollbar repaint (a frame) on a layout that changed nothing",
    "Widget._size_updated": "widgets/section_text.py: a Static resized by a layout asks for no second layout (a frame)",
    "Input._watch_value": "widgets/filter_input.py: a typed filter character repaints the input, not the screen",
    "XTermParser._sequence_to_key_events": "here, escape_then_key(): Escape typed fast before a key is not Alt",
}


def screen_stack(app: App) -> list[Screen]:
    """The app's current screen stack, bottom first (read only)."""
    return app._screen_stack


def load_screen_css(app: App, screen: Screen) -> None:
    """Load `screen`'s CSS_PATH: Textual does it on push, never for the default screen."""
    app._load_screen_css(screen)


def set_breakpoints(screen: Screen, width: int, height: int) -> None:
    """Give `screen` now the breakpoint classes (HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS) its first
    resize would give it (Textual's Screen._on_resize), without a restyle: set on a screen not mounted
    yet, its widgets are styled with them once, instead of twice (a restyle of all of them when the
    resize changed the classes after they were styled)."""
    app = screen.app
    across = (
        app.HORIZONTAL_BREAKPOINTS if screen.HORIZONTAL_BREAKPOINTS is None else screen.HORIZONTAL_BREAKPOINTS
    ) or []
    down = (app.VERTICAL_BREAKPOINTS if screen.VERTICAL_BREAKPOINTS is None else screen.VERTICAL_BREAKPOINTS) or []
    classes = {name: False for _, name in (across + down)}
    for name in screen._get_breakpoint_classes(width, across) | screen._get_breakpoint_classes(height, down):
        classes[name] = True
    screen.update_classes(classes, update=False)


def flush_refresh(widget: Widget) -> None:
    """Post now the layout/repaint `widget` would post to its screen when next idle."""
    widget._check_refresh()


def layout_owed(screen: Screen) -> bool:
    """`screen` will lay its widgets out before its next frame."""
    return bool(screen._layout_required)


def paint_whole_with_layout(screen: Screen) -> None:
    """Let `screen`'s next layout paint all of it, in the one frame, instead of
    painting what the layout changed and then, in a second frame, everything
    (its repaint as it comes back on top)."""
    screen._repaint_required = False
    screen._compositor._dirty_regions.add(screen.size.region)


def paint_owed(screen: Screen) -> bool:
    """`screen` has changes its frame timer has yet to paint (a layout, a repaint, a scroll, changed widgets)."""
    return bool(
        screen._layout_required
        or screen._repaint_required
        or screen._recompose_required
        or screen._scroll_required
        or screen._dirty_widgets
    )


def paint_now(screen: Screen) -> None:
    """Paint `screen`'s pending changes now: what its frame timer does at its next tick."""
    screen._on_timer_update()


def idle(node: MessagePump) -> bool:
    """Nothing waiting in `node`'s message queue, being handled, or due after it."""
    return node._message_queue.empty() and node._pending_message is None and not node._next_callbacks


def timer_running(timer: Timer) -> bool:
    """A timer that is ticking (not paused)."""
    return timer._active.is_set()


def escape_then_key() -> None:
    """Read Escape followed at once by a printable key as Escape, then that key.

    A terminal sends Alt+key as ESC and the key, so Textual reads an Escape
    that arrives together with the next key (a burst, a laggy SSH link, a
    fast typist within its 100 ms) as Alt+key: the Escape is lost and the key
    changes (Esc then 9 became "ª", Esc then b became ctrl+left, Esc then /
    a plain slash). The console binds no Alt key, so here both keys count.
    Control sequences (ESC [ and ESC O) and ESC with a control character
    (Alt+backspace, shift+tab) are read as before."""
    from textual import events
    from textual._xterm_parser import XTermParser

    original = XTermParser._sequence_to_key_events
    if getattr(original, "esimdesk_escape_then_key", False):
        return

    def sequence_to_key_events(self: XTermParser, sequence: str, alt: bool = False) -> Iterator[events.Key]:
        if alt and sequence.isprintable():  # ESC then a key Textual did not know: read as Alt+key
            yield events.Key("escape", "\x1b")
            yield from original(self, sequence)
        elif len(sequence) == 2 and sequence[0] == "\x1b" and sequence[1].isprintable() and sequence[1] not in "[O":
            yield events.Key("escape", "\x1b")  # ESC then a key Textual maps (Esc 9 -> "ª", Esc b -> ctrl+left)
            yield from original(self, sequence[1])
        else:
            yield from original(self, sequence, alt)

    sequence_to_key_events.esimdesk_escape_then_key = True  # type: ignore[attr-defined]
    XTermParser._sequence_to_key_events = sequence_to_key_events  # type: ignore[method-assign]


def problems() -> list[str]:
    """What no longer holds for the installed Textual (empty when all is well)."""
    from textual.app import App
    from textual.message_pump import MessagePump
    from textual.screen import Screen
    from textual.timer import Timer
    from textual.widgets import Input

    found: list[str] = []
    if textual.__version__ != TESTED_VERSION:
        found.append(f"Textual {textual.__version__} installed; these private parts were checked on {TESTED_VERSION}")
    from textual._xterm_parser import XTermParser
    from textual.scroll_view import ScrollView
    from textual.widget import Widget

    for owner, name in (
        (XTermParser, "_sequence_to_key_events"),
        (App, "_background_screens"),
        (App, "_on_idle"),
        (App, "_load_screen_css"),
        (Screen, "_on_screen_resume"),
        (Screen, "_get_breakpoint_classes"),
        (Screen, "_on_idle"),
        (Screen, "_on_timer_update"),
        (Widget, "_check_refresh"),
        (ScrollView, "_size_updated"),
        (Widget, "_size_updated"),
        (Input, "_watch_value"),
    ):
        if not hasattr(owner, name):
            found.append(f"{owner.__name__}.{name} is gone")
    instances: list[tuple[Any, tuple[str, ...]]] = [
        (MessagePump(), ("_message_queue", "_pending_message", "_next_callbacks")),
        (Timer(MessagePump(), 1.0), ("_active",)),
        (
            Screen(),
            (
                "_layout_required",
                "_scroll_required",
                "_repaint_required",
                "_recompose_required",
                "_dirty_widgets",
                "_compositor",
            ),
        ),
    ]
    for obj, names in instances:
        found += [f"{type(obj).__name__}().{n} is gone" for n in names if not hasattr(obj, n)]
    return found


__all__ = [
    "OVERRIDDEN",
    "TESTED_VERSION",
    "escape_then_key",
    "flush_refresh",
    "idle",
    "layout_owed",
    "load_screen_css",
    "paint_now",
    "paint_owed",
    "paint_whole_with_layout",
    "problems",
    "screen_stack",
    "set_breakpoints",
    "timer_running",
]
