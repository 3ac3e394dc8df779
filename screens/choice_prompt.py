"""Pick one of a few options, with type-to-find (screens/prompts.py holds the
prompts' shared machinery: drafts, saving, the key hold)."""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from screens.prompts import _Prompt


class ChoicePrompt(_Prompt):
    """Pick one of a few options (close reason, triage category, reviewer...).

    Typing finds: the letters typed move the highlight to the first option
    that starts with them (else contains them), so "bob" then enter assigns
    to bob even when typed before the list is up; backspace takes a letter
    back. Letters that match nothing leave the highlight where it is and say
    so, and enter then picks nothing."""

    HINT = "type to find, enter picks, escape cancels"
    back_words = "Back to the choices"  # (there is no text to edit)

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.options = title, options
        self.find = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(self.title_text, id="prompt-title", markup=False)
            yield from self._messages()  # under the title: seen even when the prompt is cut at 80x24
            # labels may hold customer text (subjects): plain text, never markup
            yield OptionList(
                *[Option(label, id=value) for value, label in self.options], id="prompt-choice", markup=False
            )
            yield Static(self.HINT, id="prompt-find", classes="prompt-hint", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(OptionList).focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "backspace" and self.find:
            self.find = self.find[:-1]
        elif event.is_printable and event.character and event.key != "enter":
            self.find += event.character
        else:
            return
        event.stop()
        self._show_found()

    def _found(self) -> int | None:
        want = self.find.casefold()
        labels = [label.casefold() for _value, label in self.options]
        starts = [i for i, label in enumerate(labels) if label.startswith(want)]
        return (starts or [i for i, label in enumerate(labels) if want in label] or [None])[0]

    def _show_found(self) -> None:
        hint = self.query_one("#prompt-find", Static)
        if not self.find:
            hint.update(self.HINT)
            return
        found = self._found()
        if found is not None:
            self.query_one(OptionList).highlighted = found
        miss = "" if found is not None else " (no match)"
        hint.update(Text(f"find: {self.find}{miss}  ·  enter picks, escape cancels"))

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if not self.saving and not (self.find and self._found() is None):
            self._deliver(event.option.id)

    def _checked_value(self) -> str | None:
        ol = self.query_one(OptionList)
        return ol.get_option_at_index(ol.highlighted).id if ol.highlighted is not None else None
