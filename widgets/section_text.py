"""A block of text laid out by its content (a Static), and laid out once.

When a layout gives a Static a new size, Textual also sets its virtual size,
a reactive that asks for a second layout of the screen (and a second frame)
although the first one already sized it. A Static does not scroll, so its
virtual size needs no layout: the ticket screen's sections and its timeline's
text use this one, so a ticket whose sections differ in size from the last
one's still shows in one layout and one frame.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Static


class SectionText(Static):
    """A Static whose new size after a layout asks for no second layout."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)
