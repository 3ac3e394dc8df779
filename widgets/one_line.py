"""Updating a one-line bar (a Static one cell high) without a layout.

`Static.update` lays the whole screen out again by default (~5-10 ms on the
queue, a second frame after each filter character). A bar whose size cannot
change needs only a repaint, and none when it already shows the text; and
that repaint reaches the screen at once, so it joins the frame in the making
(the one echoing a typed character) rather than painting one of its own.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from widgets.textual_compat import flush_refresh


def update_line(bar: Static, content: Text | str, *, auto_width: bool = False) -> None:
    """Show `content` in `bar` (height 1): nothing when it already shows it, a
    repaint when only the text changed; a layout only when a bar whose width
    follows its text (`auto_width`) changes length."""
    old = bar.content
    if type(old) is type(content) and old == content:
        return
    layout = auto_width and cell_len(str(old)) != cell_len(str(content))
    bar.update(content, layout=layout)
    if bar.is_mounted:
        flush_refresh(bar)  # to the screen now: joins the next frame, instead of the one after it
