"""Quarantine review: mail that could not be ingested, with its reason, shown
as inert text; release it as a ticket or discard it (app.mail.quarantine
logs both)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from app.failures import as_desk_error
from app.labels import local_time, plural
from app.untrusted import inert
from screens.service_worker import Outcome, ServiceRunner
from widgets.key_footer import KeyFooter


class QuarantineScreen(ServiceRunner, Screen):
    """Held messages; r releases as a ticket, x discards."""

    CSS_PATH = "quarantine.tcss"
    KEY_BLOCKING_WORKERS = {"q-op"}  # keys typed while releasing or discarding wait for it (app.console_keys)
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("r", "release", "Release as ticket", id="quarantine_release"),
        Binding("x", "discard", "Discard", id="quarantine_discard"),
    ]

    class Listed(Message):
        def __init__(self, items: list, error: str | None = None) -> None:
            super().__init__()
            self.items, self.error = items, error

    def __init__(self) -> None:
        super().__init__()
        self.items: list = []

    def compose(self) -> ComposeResult:
        yield Static("Quarantine  ·  loading…", id="q-title", classes="bar", markup=False)
        yield OptionList(id="q-list")
        yield Static("", id="q-preview", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    @work(thread=True, exclusive=True, group="q-load")
    def load(self) -> None:
        from app.mail.quarantine import list_quarantine

        try:
            items = self.ctx.desk.read(list_quarantine, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001 - a refusal or a failed database: said in place
            self.post_message(self.Listed([], str(as_desk_error(exc, self.ctx.desk.url))))
            return
        self.post_message(self.Listed(items))

    def on_quarantine_screen_listed(self, message: Listed) -> None:
        if message.error:
            self.notify(message.error, severity="error")
        self.items = message.items
        ol = self.query_one(OptionList)
        ol.clear_options()
        for q in self.items:
            line = Text(f"{local_time(q.received_at, self.ctx.config.calendar.timezone)}  ")
            line.append(inert(q.sender, limit=30, single_line=True) or "(no sender)")
            line.append("  ")
            line.append(inert(q.subject, limit=50, single_line=True) or "(no subject)", style="italic")
            line.append(f"  — {inert(q.reason, limit=60, single_line=True)}")
            ol.add_option(Option(line, id=str(q.id)))
        self.query_one("#q-title", Static).update(
            Text.assemble(("Quarantine", "bold"), f"  ·  {plural(len(self.items), 'held message')}")
        )
        if self.items:
            ol.highlighted = 0
        else:
            self.query_one("#q-preview", Static).update("nothing held")
        self.refresh_bindings()

    def _current(self):
        ol = self.query_one(OptionList)
        if ol.highlighted is None or ol.highlighted >= len(self.items):
            return None
        return self.items[ol.highlighted]

    @on(OptionList.OptionHighlighted)
    def _show(self) -> None:
        q = self._current()
        if q is None:
            return
        text = Text()
        text.append("reason: ", style="bold")
        text.append(inert(q.reason, single_line=True) + "\n")
        text.append("from: ", style="bold")
        text.append(inert(q.sender, single_line=True) + "\n")
        text.append("subject: ", style="bold")
        text.append(inert(q.subject, single_line=True) + "\n")
        text.append(f"source: {inert(q.source, single_line=True)}  ·  {q.size} bytes\n\n", style="dim")
        text.append(inert(q.preview, limit=4000))
        self.query_one("#q-preview", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("release", "discard"):
            return bool(self.items)
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_release(self) -> None:
        from app.mail.quarantine import RELEASE_KINDS
        from screens.choice_prompt import ChoicePrompt

        q = self._current()
        if q is None:
            return
        self.app.push_screen(
            ChoicePrompt("Release as…", [(k, k) for k in RELEASE_KINDS]),
            lambda kind: self.run_op("release", q.id, kind) if kind else None,
        )

    def action_discard(self) -> None:
        from screens.choice_prompt import ChoicePrompt

        q = self._current()
        if q is None:
            return
        self.app.push_screen(
            ChoicePrompt(
                "Discard this message? (its bytes are kept for the record)",
                [("yes", "yes, discard"), ("no", "no, keep it held")],
            ),
            lambda ok: self.run_op("discard", q.id, None) if ok == "yes" else None,
        )

    def run_op(self, op: str, qid: int, kind: str | None) -> None:
        """Release or discard held message `qid` (app.mail.quarantine) in a worker; then the list as stored."""
        from app.mail import quarantine

        ctx = self.ctx

        def call(s, now) -> str:
            if op == "release":
                return f"released as {quarantine.release(s, ctx.actor, qid, kind=kind or 'inquiry', now=now, config=ctx.config)}"
            quarantine.discard(s, ctx.actor, qid, now=now)
            return "discarded"

        self.run_service_call(call, self._done, group="q-op")

    def _done(self, outcome: Outcome) -> None:
        self.notify(outcome.result if outcome.ok else outcome.text, severity=outcome.severity)
        self.load()
