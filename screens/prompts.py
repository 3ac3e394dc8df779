"""Small modal inputs the ticket screens ask for: text, a choice, an
extension (date + reason), a reply (template + text).

Used two ways:
- plain: `push_screen(prompt, callback)`; the value comes back through
  `dismiss` (None when cancelled);
- worked: the opener sets `prompt.on_value` (and `on_reload`); ctrl+s hands
  the value to it and the prompt stays open, "saving…", until the opener
  calls `saved()` (then it closes) or `failed(text, stale)` (the error shows
  inside the prompt and the text stays for a retry; a stale ticket offers
  ctrl+r "reload, keep my text"). Before a customer mail is queued the
  opener shows its preview above the prompt with `preview(screen, answered)`:
  confirmed, the prompt saves as above; going back, the text is there to edit.

A prompt given a `draft` key (app.drafts.DraftKey) restores the stored draft
when it opens and stores the text a moment after each change, in a worker;
the draft is deleted once the text is saved. Escape on text that is not
empty asks before throwing it away.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from app.screen_context import UsesContext

DRAFT_SAVE_SECONDS = 1.0  # a draft is stored at most this long after a change
DRAFT_HOLD_SECONDS = 2.0  # keys wait at most this long for the stored draft to be put in place

LEAVE_OPTIONS_DRAFT = [
    ("keep", "Keep it as a draft for later"),
    ("discard", "Discard the text"),
    ("back", "Back to the text"),
]
LEAVE_OPTIONS = [("discard", "Discard the text"), ("back", "Back to the text")]


class _Prompt(UsesContext, ModalScreen):
    CSS_PATH = "prompts.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="prompt_cancel"),
        Binding("ctrl+s", "submit", "Save", id="prompt_submit", priority=True),
        Binding("ctrl+r", "reload", "Reload, keep my text", id="prompt_reload"),
    ]
    # what escape on the confirmation after this prompt goes back to (None: ConfirmScreen's "Back to editing")
    back_words: str | None = None

    class DraftLoaded(Message):
        def __init__(self, body: str | None) -> None:
            super().__init__()
            self.body = body

    def __init__(self) -> None:
        super().__init__()
        self.on_value: Callable[[object], None] | None = None  # the opener's work (see the module docstring)
        self.on_reload: Callable[[], None] | None = None
        self.saving = False
        self.previewing = False  # the opener's confirmation (the mail preview) is open above this prompt
        self._confirmed = False  # ...and was confirmed: saving until saved() / failed()
        self.stale = False
        self._reloading = False
        self._value_sent: object = None
        self.draft = None  # app.drafts.DraftKey: store the text as it is typed
        self._draft_ready = False
        self._draft_timer = None
        self._draft_stored = ""  # the text last handed to the store
        self._draft_lock = threading.Lock()
        self._draft_seq = 0  # writes are numbered; an older one never overwrites a newer one
        self._draft_written = 0
        self._draft_closed = False

    def on_mount(self) -> None:
        if self.app.is_headless:  # a steady cursor keeps headless runs (tests, snapshots) deterministic
            for w in self.query("Input, TextArea"):
                w.cursor_blink = False
        for ta in self.query(TextArea):  # text given back for editing: continue where it ends
            ta.move_cursor(ta.document.end)
        if self.draft is not None:
            self._hold_keys(lambda: self._draft_ready, DRAFT_HOLD_SECONDS)
            self._load_draft()
        else:
            self._draft_ready = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reload":
            return self.stale and self.on_reload is not None
        return True

    # -- what is typed (overridden) -------------------------------------------
    def _text(self) -> str:
        """The text a person typed here ('' when nothing is typed in it)."""
        return ""

    def _initial(self) -> str:
        return ""

    def _put_text(self, text: str) -> None:
        """Show a restored draft."""

    def _checked_value(self) -> object | None:
        """The value to hand over, or None after showing what is missing."""
        return None

    # -- submitting -------------------------------------------------------------
    def action_submit(self) -> None:
        if self.saving:
            return
        value = self._checked_value()
        if value is not None:
            self._deliver(value)

    def _deliver(self, value: object) -> None:
        if self.on_value is None:
            self._finish(value)
            return
        self.saving, self.stale, self._value_sent = True, False, value
        self._error("")
        self._status("saving…")
        self.refresh_bindings()
        # keys typed after ctrl+s go where they go once it is done, or into the preview once it is up
        self._hold_keys(lambda: not self.saving or self.previewing, 15.0)
        self.on_value(value)

    def preview(self, screen: ModalScreen[bool], answered: Callable[[bool | None], None]) -> None:
        """Show the opener's confirmation `screen` (the mail as it will be
        queued) above this prompt, the text kept under it. Keys typed behind
        ctrl+s go into it once it is up. Confirmed: saving again here until
        `saved()` / `failed()` (keys typed behind the confirmation wait for
        that); going back: the text as it was, to edit or save again. Then
        `answered(yes)`."""

        def answer(yes: bool | None) -> None:  # runs before this prompt resumes (it is the requester)
            self.previewing = False
            if yes and self.saving:
                self._confirmed = True
                self._status("saving…")
                self._hold_keys(lambda: not self.saving, 15.0)
            else:
                self.saving = False
                self._status("")
                self.refresh_bindings()
            answered(bool(yes))

        def show() -> None:  # pushed from this prompt's own queue, so the answer comes back through it
            self.previewing = True
            self._status("")  # nothing is being saved while the preview waits for an answer
            self.app.push_screen(screen, answer)

        self.call_next(show)

    def saved(self) -> None:
        """The opener's work succeeded: the text is kept now; close."""
        self.saving = self._confirmed = False
        self._finish(self._value_sent)

    def failed(self, text: str, stale: bool = False) -> None:
        """The opener's work was refused: say why here; the text stays."""
        self.saving, self._confirmed, self.stale = False, False, stale and self.on_reload is not None
        self._status("")
        if self.stale:
            text += "\nctrl+r reloads the ticket and keeps your text; then ctrl+s saves it (escape: leave)"
        else:
            text += "\nyour text is kept: correct it and ctrl+s again, or escape to leave"
        self._error(text)
        self.refresh_bindings()

    def reloaded(self) -> None:
        """The opener read the ticket again (after ctrl+r)."""
        self._reloading = False
        if self.stale:
            self.stale = False
            self._error("")
            self._status("reloaded: your text is kept; ctrl+s saves it")
            self.refresh_bindings()

    def action_reload(self) -> None:
        if self.stale and self.on_reload is not None:
            self._status("reloading…")
            self._reloading = True
            self._hold_keys(lambda: not self._reloading, 10.0)  # ctrl+s typed behind it saves on the new version
            self.on_reload()

    def on_screen_resume(self) -> None:
        if self.saving and not (self._confirmed or self.previewing):  # back on top before the opener answered
            self.saving = False
            self._status("")

    def _finish(self, value: object) -> None:
        self._drop_draft()
        self.dismiss(value)

    # -- leaving ----------------------------------------------------------------
    def action_cancel(self) -> None:
        if self.saving:
            return
        text = self._text()
        if not text.strip() or text == self._initial():
            if self.draft is not None and not text.strip():
                self._drop_draft()
            self.dismiss(None)
            return
        options = LEAVE_OPTIONS_DRAFT if self.draft is not None else LEAVE_OPTIONS
        from screens.choice_prompt import ChoicePrompt

        self.app.push_screen(ChoicePrompt("Leave this text?", options), self._leave)

    def _leave(self, choice: str | None) -> None:
        if choice == "keep":
            self._store_draft_now()
            self.dismiss(None)
        elif choice == "discard":
            self._drop_draft()
            self.dismiss(None)

    # -- drafts -----------------------------------------------------------------
    def _store(self):
        from app.drafts import DraftStore

        return DraftStore(self.ctx.desk)

    @work(thread=True, group="prompt-draft-load")
    def _load_draft(self) -> None:
        try:
            body = self._store().load(self.draft)
        except Exception:  # noqa: BLE001 - a draft is a convenience: the prompt works without it
            body = None
        self.post_message(self.DraftLoaded(body))

    @on(DraftLoaded)
    def _draft_loaded(self, message: DraftLoaded) -> None:
        if message.body and message.body.strip():
            self._put_text(message.body)
            self._draft_stored = message.body
            self._status("your draft from before is back")
        self._draft_ready = True

    @on(TextArea.Changed)
    @on(Input.Changed)
    def _typed(self) -> None:
        if self.draft is None or not self._draft_ready or self._draft_timer is not None:
            return
        self._draft_timer = self.set_timer(DRAFT_SAVE_SECONDS, self._store_draft_now)

    def _store_draft_now(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self.draft is None or not self._draft_ready:
            return
        text = self._text()
        if text == self._draft_stored:
            return
        self._draft_stored = text
        self._draft_seq += 1
        self._write_draft(self._draft_seq, text, discard=False)

    def _drop_draft(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self.draft is None:
            return
        self._draft_seq += 1
        self._write_draft(self._draft_seq, "", discard=True)

    def _write_draft(self, seq: int, text: str, discard: bool) -> None:
        """Store or delete the draft in an App worker (it outlives the prompt)."""
        store, key, now = self._store(), self.draft, self.ctx.now()

        def write() -> None:
            with self._draft_lock:
                if seq <= self._draft_written or self._draft_closed:
                    return
                self._draft_written = seq
                self._draft_closed = discard
                try:
                    if discard:
                        store.discard(key)
                    else:
                        store.save(key, text, now)
                except Exception:  # noqa: BLE001 - best effort: the text is still on screen
                    pass

        self.app.run_worker(write, thread=True, group="prompt-draft-write")

    # -- helpers ----------------------------------------------------------------
    def _hold_keys(self, until: Callable[[], bool], seconds: float) -> None:
        hold = getattr(self.app, "hold_keys", None)
        if hold is not None:
            hold(self, until=until, seconds=seconds)

    def _error(self, text: str) -> None:
        for w in self.query("#prompt-error"):
            w.update(text)
            w.display = bool(text)

    def _status(self, text: str) -> None:
        for w in self.query("#prompt-status"):
            w.update(text)
            w.display = bool(text)

    def _messages(self) -> ComposeResult:
        yield Static("", id="prompt-error", markup=False)
        yield Static("", id="prompt-status", markup=False)


class TextPrompt(_Prompt):
    """Free text (a note, a request, a proposal, a final response...)."""

    def __init__(self, title: str, label: str, initial: str = "", multiline: bool = True, draft=None) -> None:
        super().__init__()
        self.title_text, self.label_text, self.initial, self.multiline = title, label, initial, multiline
        self.draft = draft

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(self.title_text, id="prompt-title", markup=False)
            yield from self._messages()  # under the title: seen even when the prompt is cut at 80x24
            yield Label(self.label_text + ("  (ctrl+s saves, escape cancels)" if self.multiline else ""), markup=False)
            if self.multiline:
                yield TextArea(self.initial, id="prompt-text", soft_wrap=True)
            else:
                yield Input(self.initial, id="prompt-text")

    def on_mount(self) -> None:
        super().on_mount()
        w = self.query_one("#prompt-text")
        if self.initial:
            _put(w, self.initial)  # typing continues after the prefilled text
        w.focus()

    def _text(self) -> str:
        w = self.query_one("#prompt-text")
        return w.text if isinstance(w, TextArea) else w.value

    def _initial(self) -> str:
        return self.initial

    def _put_text(self, text: str) -> None:
        _put(self.query_one("#prompt-text"), text)

    def _checked_value(self) -> str | None:
        value = self._text()
        if not value.strip():
            self._error("write something first (escape cancels)")
            return None
        return value

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()


def _put(widget: TextArea | Input, text: str) -> None:
    """Replace a text widget's text, the cursor after it."""
    if isinstance(widget, TextArea):
        widget.text = text
        widget.move_cursor(widget.document.end)
    else:
        widget.value = text
        widget.cursor_position = len(text)


class ExtendPrompt(_Prompt):
    """A new due date (YYYY-MM-DD, desk time) and the reason for it."""

    def __init__(self, title: str, current_due: str = "") -> None:
        super().__init__()
        self.title_text, self.current_due = title, current_due

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(self.title_text, id="prompt-title", markup=False)
            yield from self._messages()  # under the title: seen even when the prompt is cut at 80x24
            if self.current_due:
                yield Label(f"current due: {self.current_due}", markup=False)
            yield Label("new due date (YYYY-MM-DD)", markup=False)
            yield Input(placeholder="2026-12-31", id="prompt-date")
            yield Label("reason (required)", markup=False)
            yield Input(id="prompt-reason")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#prompt-date").focus()

    @on(Input.Submitted, "#prompt-date")
    def _next(self) -> None:
        self.query_one("#prompt-reason").focus()

    @on(Input.Submitted, "#prompt-reason")
    def _done(self) -> None:
        self.action_submit()

    def _text(self) -> str:
        return (
            self.query_one("#prompt-date", Input).value + " " + self.query_one("#prompt-reason", Input).value
        ).strip()

    def _checked_value(self) -> tuple[str, str] | None:
        date = self.query_one("#prompt-date", Input).value.strip()
        reason = self.query_one("#prompt-reason", Input).value.strip()
        if not date or not reason:
            self._error("both a new due date and a reason are needed")
            return None
        return (date, reason)


class ReplyPrompt(_Prompt):
    """A customer reply: the text first; ctrl+t picks a template to start from."""

    BINDINGS = [Binding("ctrl+t", "template", "Template", id="prompt_template")]

    def __init__(self, title: str, templates: dict[str, str], initial: str = "", draft=None) -> None:
        super().__init__()
        self.title_text, self.templates, self.initial = title, templates, initial
        self.draft = draft

    def _initial(self) -> str:
        return self.initial

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(self.title_text, id="prompt-title", markup=False)
            yield from self._messages()  # under the title: seen even when the prompt is cut at 80x24
            yield Label("templates (ctrl+t here, enter puts one in the text)", markup=False)
            yield OptionList(
                *[Option(name.replace("_", " "), id=name) for name in self.templates], id="prompt-templates"
            )
            yield Label("message to the customer  (ctrl+s sends, escape cancels)", markup=False)
            yield TextArea(self.initial, id="prompt-text", soft_wrap=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#prompt-text").focus()  # typing starts in the text, never in the list

    @on(OptionList.OptionSelected, "#prompt-templates")
    def _template(self, event: OptionList.OptionSelected) -> None:
        ta = self.query_one("#prompt-text", TextArea)
        body = self.templates.get(event.option.id or "", "")
        if ta.text.strip():
            ta.insert(body)  # at the cursor: what was written stays
        else:
            _put(ta, body)
        ta.focus()

    def action_template(self) -> None:
        self.query_one("#prompt-templates").focus()

    def _text(self) -> str:
        return self.query_one("#prompt-text", TextArea).text

    def _put_text(self, text: str) -> None:
        _put(self.query_one("#prompt-text", TextArea), text)

    def _checked_value(self) -> str | None:
        text = self._text()
        if not text.strip():
            self._error("the message is empty")
            return None
        return text
