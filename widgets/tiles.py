"""Big-number tiles for the wall display: a bordered box, its label in the
border title and the figure in Textual's `Digits`, readable across a room.

Styles live in widgets/tiles.tcss (loaded by the screens that use tiles).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import Digits


class NumberTile(Container):
    """One figure. `alarm=True` tiles turn red while their value is above zero."""

    def __init__(
        self,
        label: str,
        value: int | None = None,
        *,
        alarm: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = label
        self.alarm = alarm
        self._value = value

    def compose(self) -> ComposeResult:
        yield Digits(self._text(self._value))

    @staticmethod
    def _text(value: int | None) -> str:
        return "-" if value is None else str(value)

    @property
    def value(self) -> int | None:
        return self._value

    def set_value(self, value: int | None) -> None:
        """Show `value` (None: unknown); colours follow the alarm rule."""
        self._value = value
        if self.is_mounted:
            self.query_one(Digits).update(self._text(value))
        self.set_class(self.alarm and bool(value), "-alarm")
        self.set_class(not self.alarm or not value, "-calm")

    def on_mount(self) -> None:
        self.set_value(self._value)
