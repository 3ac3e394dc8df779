"""The queue's filter input: an Input whose typing repaints a line, not the screen.

Textual's Input sets its virtual size (a reactive that lays the whole screen
out again) on every change of its value, so each typed character cost a
layout and a repaint of every widget (the queue table's fifty lines, ~35 ms)
before the echo reached the terminal. The filter input is one line high in a
row of fixed height: its virtual size is kept without that layout (the Input
scrolls itself to its cursor), so a character repaints the input alone.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Input


class FilterInput(Input):
    """An Input (one line, fixed height) that does not lay the screen out on each character."""

    def _watch_value(self, value: str) -> None:
        # the size the Input is about to set, set quietly first: its own assignment then changes nothing
        self.set_reactive(Input.virtual_size, Size(self.content_width, 1))
        super()._watch_value(value)


__all__ = ["FilterInput"]
