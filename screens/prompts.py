"""Small modal inputs the ticket screens ask for: text, a choice, an
extension (date + reason), a reply (template + text). Each returns its value
through `dismiss` (None when cancelled with escape)."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option


class _Prompt(ModalScreen):
    CSS_PATH = "prompts.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="prompt_cancel"),
        Binding("ctrl+s", "submit", "Save", id="prompt_submit", priority=True),
    ]

    def on_mount(self) -> None:
        if self.app.is_headless:  # a steady cursor keeps headless runs (tests, snapshots) deterministic
            for w in self.query("Input, TextArea"):
                w.cursor_blink = False
        for ta in self.query(TextArea):  # text given back for editing: continue where it ends
            ta.move_cursor(ta.document.end)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:  # overridden
        self.dismiss(None)

    def _error(self, text: str) -> None:
        self.query_one("#prompt-error", Static).update(text)


class TextPrompt(_Prompt):
    """Free text (a note, a request, a proposal, a final response...)."""

    def __init__(self, title: str, label: str, initial: str = "", multiline: bool = True) -> None:
        super().__init__()
        self.title_text, self.label_text, self.initial, self.multiline = title, label, initial, multiline

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(self.title_text, id="prompt-title", markup=False)
            yield Label(self.label_text + ("  (ctrl+s saves, escape cancels)" if self.multiline else ""), markup=False)
            if self.multiline:
                yield TextArea(self.initial, id="prompt-text", soft_wrap=True)
            else:
                yield Input(self.initial, id="prompt-text")
            yield Static("", id="prompt-error", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#prompt-text").focus()

    def _value(self) -> str:
        w = self.query_one("#prompt-text")
        return w.text if isinstance(w, TextArea) else w.value

    def action_submit(self) -> None:
        value = self._value()
        if not value.strip():
            self._error("write something first (escape cancels)")
            return
        self.dismiss(value)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()


class ChoicePrompt(_Prompt):
    """Pick one of a few options (close reason, triage category, reviewer...)."""

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.options = title, options

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(self.title_text, id="prompt-title", markup=False)
            yield OptionList(*[Option(label, id=value) for value, label in self.options], id="prompt-choice")
            yield Static("enter picks, escape cancels", classes="prompt-hint", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_submit(self) -> None:
        ol = self.query_one(OptionList)
        if ol.highlighted is not None:
            self.dismiss(ol.get_option_at_index(ol.highlighted).id)


class ExtendPrompt(_Prompt):
    """A new due date (YYYY-MM-DD, desk time) and the reason for it."""

    def __init__(self, title: str, current_due: str = "") -> None:
        super().__init__()
        self.title_text, self.current_due = title, current_due

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(self.title_text, id="prompt-title", markup=False)
            if self.current_due:
                yield Label(f"current due: {self.current_due}", markup=False)
            yield Label("new due date (YYYY-MM-DD)", markup=False)
            yield Input(placeholder="2026-12-31", id="prompt-date")
            yield Label("reason (required)", markup=False)
            yield Input(id="prompt-reason")
            yield Static("", id="prompt-error", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#prompt-date").focus()

    @on(Input.Submitted, "#prompt-date")
    def _next(self) -> None:
        self.query_one("#prompt-reason").focus()

    @on(Input.Submitted, "#prompt-reason")
    def _done(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        date = self.query_one("#prompt-date", Input).value.strip()
        reason = self.query_one("#prompt-reason", Input).value.strip()
        if not date or not reason:
            self._error("both a new due date and a reason are needed")
            return
        self.dismiss((date, reason))


class ReplyPrompt(_Prompt):
    """A customer reply: optionally start from a template, then edit."""

    BINDINGS = [Binding("ctrl+t", "template", "Template", id="prompt_template")]

    def __init__(self, title: str, templates: dict[str, str], initial: str = "") -> None:
        super().__init__()
        self.title_text, self.templates, self.initial = title, templates, initial

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(self.title_text, id="prompt-title", markup=False)
            yield Label("template (enter fills the text below; tab skips)", markup=False)
            yield OptionList(*[Option(name.replace("_", " "), id=name) for name in self.templates], id="prompt-templates")
            yield Label("message to the customer  (ctrl+s sends, escape cancels)", markup=False)
            yield TextArea(self.initial, id="prompt-text", soft_wrap=True)
            yield Static("", id="prompt-error", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        # the text takes the keys typed when it was given a draft or no template fits this ticket's state
        self.query_one("#prompt-text" if self.initial or not self.templates else "#prompt-templates").focus()

    @on(OptionList.OptionSelected, "#prompt-templates")
    def _template(self, event: OptionList.OptionSelected) -> None:
        ta = self.query_one("#prompt-text", TextArea)
        ta.text = self.templates.get(event.option.id or "", "")
        ta.focus()

    def action_template(self) -> None:
        self.query_one("#prompt-templates").focus()

    def action_submit(self) -> None:
        text = self.query_one("#prompt-text", TextArea).text
        if not text.strip():
            self._error("the message is empty")
            return
        self.dismiss(text)
