"""Tagged rows and bulk actions on the queue.

`t` or space tags the row under the cursor (and moves on, as in mutt), `T`
tags every row matching the view and filter, ctrl+t untags all; a bar over
the table counts the tags and each tagged row carries a mark. `;` asks what
to do with them (assign, triage, note, close); `A`, `n` and `c` go straight
to assign, note and close. One confirmation names how many tickets; then
each ticket goes through the same workflow service as on its own screen, in
a worker, and every ticket's result is listed (refusals included). Keys
typed meanwhile wait for the result list.

`TaggedRows` is mixed into the QueueScreen (its BINDINGS are the screen's:
`TAG_BINDINGS`); `BulkResultScreen` is the result list.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from app import bulk, labels
from app.bulk import Result, Target
from app.screen_context import UsesContext
from widgets.key_footer import KeyFooter
from widgets.ticket_columns import TAG_MARK

TAG_BINDINGS = [
    Binding("t", "tag", "Tag", id="tag"),
    Binding("space", "tag", "Tag", show=False, id="tag_space"),
    Binding("T", "tag_matching", "Tag every row matching", show=False, id="tag_matching"),
    Binding("ctrl+t", "untag_all", "Untag all", show=False, id="untag_all"),
    Binding("semicolon", "bulk", "Act on the tagged tickets", key_display=";", show=False, id="bulk"),
    Binding("A", "bulk('assign')", "Assign the tagged tickets", show=False, id="bulk_assign"),
    Binding("n", "bulk('note')", "Note on the tagged tickets", show=False, id="bulk_note"),
    Binding("c", "bulk('close')", "Close the tagged tickets", show=False, id="bulk_close"),
]
MENU = [
    ("assign", "Assign to…"),
    ("triage", "Triage out of scope…"),
    ("note", "Add an internal note…"),
    ("close", "Close as…"),
]
RUN_HOLD = 600.0  # seconds keys typed during a bulk run may wait for its result list
MAILS = ("triage",)  # bulk actions that mail each customer (a sample is previewed)
_ACTING = {"assign": "assigning", "triage": "triaging", "note": "adding notes to", "close": "closing"}


def tickets(n: int) -> str:
    return labels.plural(n, "tagged ticket")


class TaggedRows(UsesContext):
    """Tags and bulk actions for the QueueScreen (see the module docstring).
    The screen composes `#queue-tagged` and calls `_init_tags()`."""

    def _init_tags(self) -> None:
        self.tagged: dict[int, Target] = {}
        self._tagging = False  # a "tag every row matching" read is in flight
        self._bulk_running = False
        self._reading_staff = False
        self._previewing = False  # the sample mail of a bulk action is being rendered

    # -- tags ------------------------------------------------------------------
    def action_tag(self) -> None:
        table = self.table
        row = table.current
        if row is None:
            return
        if self.tagged.pop(row.id, None) is None:
            self.tagged[row.id] = Target(row.id, row.reference, row.version)
        table.refresh_row(table.cursor)
        table.action_cursor_down()
        self._render_tags()

    def action_untag_all(self) -> None:
        if self.tagged:
            self.tagged.clear()
            self.table.refresh()
            self._render_tags()

    def action_tag_matching(self) -> None:
        if self._tagging:
            return
        self._tagging = True
        self._hold(lambda: not self._tagging, 30.0)  # keys typed behind T act on the tags it makes
        self._render_tags("tagging every row matching…")
        self._read_matching(self.current_query())

    @work(thread=True, exclusive=True, group="queue-tag")
    def _read_matching(self, query) -> None:
        try:
            targets, total = bulk.matching(self.ctx.desk, query, self.ctx.now())
        except Exception as exc:  # noqa: BLE001 - said on screen; the tags stay as they were
            self.app.call_from_thread(self._matched, [], 0, str(exc))
            return
        self.app.call_from_thread(self._matched, targets, total, None)

    def _matched(self, targets: list[Target], total: int, error: str | None) -> None:
        self._tagging = False
        if error:
            self.notify(f"could not tag: {error}", severity="error")
        else:
            new = [t for t in targets if t.id not in self.tagged]
            self.tagged.update((t.id, t) for t in new)
            more = f" (the first {len(targets):,} of {total:,})" if total > len(targets) else ""
            self.notify(f"tagged {labels.plural(len(new), 'more ticket')}{more}", timeout=3)
            self.table.refresh()
        self._render_tags()

    def _render_tags(self, status: str = "") -> None:
        bar = self.query_one("#queue-tagged", Static)
        show = bool(self.tagged) or bool(status)
        if show:
            text = Text.assemble((f"{TAG_MARK} {tickets(len(self.tagged))}", "bold"))
            if status:
                text.append(f"  ·  {status}")
            elif self.app.size.width < 120:
                text.append("  ·  ; act on them  ·  ctrl+t untag all")
            else:
                text.append("  ·  ; act on them (A assign · n note · c close · triage)  ·  ctrl+t untag all")
            bar.update(text)
        if bar.display != show:
            bar.display = show

    # -- acting on them ----------------------------------------------------------
    def action_bulk(self, name: str | None = None) -> None:
        from screens.choice_prompt import ChoicePrompt

        if self._bulk_running:
            return
        if not self.tagged:
            self.notify(
                "nothing is tagged: t or space tags the row under the cursor, T every row matching",
                severity="warning",
                timeout=4,
            )
            return
        if name is None:
            self.app.push_screen(
                ChoicePrompt(f"{tickets(len(self.tagged))}: do what?", MENU),
                lambda picked: self.action_bulk(picked) if picked else None,
            )
        elif name == "assign":
            self._hold(lambda: not self._reading_staff, 10.0)
            self._reading_staff = True
            self._read_assignees()
        elif name == "triage":
            from app.workflow.triage import REDIRECT_TO

            self._ask(
                name,
                ChoicePrompt(
                    f"Triage {tickets(len(self.tagged))} out of scope because…",
                    [(c.value, f"{labels.words(c.value)} → {words}") for c, words in REDIRECT_TO.items()],
                ),
            )
        elif name == "note":
            from screens.prompts import TextPrompt

            self._ask(
                name, TextPrompt(f"Internal note on {tickets(len(self.tagged))}", "Note (never sent to the customer)")
            )
        elif name == "close":
            self._ask(
                name,
                ChoicePrompt(
                    f"Close {tickets(len(self.tagged))} as…", [(r, labels.close_reason(r)) for r in bulk.CLOSE_CHOICES]
                ),
            )

    @work(thread=True, exclusive=True, group="queue-bulk-staff")
    def _read_assignees(self) -> None:
        try:
            options = bulk.assignees(self.ctx.desk)
        except Exception as exc:  # noqa: BLE001 - said on screen
            options, error = [], str(exc)
        else:
            error = None
        self.app.call_from_thread(self._assignees_read, options, error)

    def _assignees_read(self, options: list[tuple[str, str]], error: str | None) -> None:
        from screens.choice_prompt import ChoicePrompt

        self._reading_staff = False
        if error or not options:
            self.notify(error or "nobody can take tickets", severity="warning")
            return
        self._ask("assign", ChoicePrompt(f"Assign {tickets(len(self.tagged))} to…", options))

    def _ask(self, name: str, prompt) -> None:
        self.app.push_screen(prompt, lambda value: self._confirm(name, value) if value else None)

    def _confirm(self, name: str, value: str) -> None:
        targets = list(self.tagged.values())
        n = len(targets)
        headline = {
            "assign": f"Assign {tickets(n)} to {value}?",
            "triage": f"Triage {tickets(n)} out of scope ({labels.words(value)})? Each closes, and its customer is "
            "sent the redirect.",
            "note": f"Add this internal note to {tickets(n)}?",
            "close": f"Close {tickets(n)} as “{labels.close_reason(value)}”? They leave the queue; only a supervisor "
            "can reopen them.",
        }[name]
        note = (
            "Each ticket is checked on its own, as on its own screen: any that cannot be changed (its state, "
            "your role, or someone changed it since you tagged it) is listed afterwards and left as it is."
        )
        if name == "note":  # what goes on every one of them, as typed
            note = f"“{value}”\n\n{note}"
        if name in MAILS:  # the customers' mail, shown as it will be queued (one of them), before anything goes
            self._previewing = True
            self._hold(lambda: not self._previewing, 10.0)  # keys typed now go to the confirmation
            self._preview_bulk(name, value, targets, headline, note)
            return
        self._ask_sure(name, value, targets, headline, note)

    def _ask_sure(
        self, name: str, value: str, targets: list[Target], headline: str, note: str, mails: list | tuple = ()
    ) -> None:
        from screens.confirm import ConfirmScreen

        self._previewing = False
        n = len(targets)
        self.app.push_screen(
            ConfirmScreen(headline, mails, confirm=f"Yes, {labels.plural(n, 'ticket')}", back="No, go back", note=note),
            lambda yes: self._start(name, value, targets) if yes else None,
        )

    @work(thread=True, exclusive=True, group="queue-bulk-preview")
    def _preview_bulk(self, name: str, value: str, targets: list[Target], headline: str, note: str) -> None:
        ctx, mails = self.ctx, []
        try:
            sample = bulk.sample_mail(ctx.desk, ctx.actor, targets, name, value, now=ctx.now(), config=ctx.config)
        except Exception as exc:  # noqa: BLE001 - said in the confirmation; nothing was done
            sample, note = None, f"The mail could not be shown ({exc}).\n\n{note}"
        if sample is not None:
            ref, mails = sample
            note = (
                f"Shown: the mail for {ref}; each customer gets their own. Any ticket that cannot be changed "
                "is listed afterwards and left as it is."
            )
        self.app.call_from_thread(self._ask_sure, name, value, targets, headline, note, mails)

    def _start(self, name: str, value: str, targets: list[Target]) -> None:
        self._bulk_running = True
        self._hold(lambda: not self._bulk_running, RUN_HOLD)  # keys typed now go to the result list
        self._render_tags(f"{_ACTING[name]} {labels.plural(len(targets), 'ticket')}…")
        self._run_bulk(name, value, targets)

    @work(thread=True, exclusive=True, group="queue-bulk")
    def _run_bulk(self, name: str, value: str, targets: list[Target]) -> None:
        app, ctx = self.app, self.ctx
        total = len(targets)
        acting = f"{_ACTING[name]} {labels.plural(total, 'ticket')}"

        def progress(n: int) -> None:
            if n < total and n % 5 == 0:
                app.call_from_thread(self._render_tags, f"{acting}… {n} of {total}")

        try:
            results = bulk.run(
                ctx.desk, ctx.actor, targets, name, value, now=ctx.now, config=ctx.config, progress=progress
            )
        except Exception as exc:  # noqa: BLE001 - what was done is committed ticket by ticket; say what broke
            app.call_from_thread(self._bulk_failed, str(exc))
            return
        app.call_from_thread(self._bulk_done, name, results)

    def _bulk_failed(self, error: str) -> None:
        self._bulk_running = False
        self.notify(f"the bulk action stopped: {error}; the queue shows what was done", severity="error")
        self._render_tags()
        self.table.reload()

    def _bulk_done(self, name: str, results: list[Result]) -> None:
        done = {r.reference for r in results if r.done}
        for tid, t in list(self.tagged.items()):
            if t.reference in done:  # the refused stay tagged, to look at or try again
                del self.tagged[tid]
        self._render_tags()
        self.table.reload()
        self.app.push_screen(BulkResultScreen(bulk.summary(name, results), results))
        self._bulk_running = False

    def _hold(self, until, seconds: float) -> None:
        hold = getattr(self.app, "hold_keys", None)
        if hold is not None:
            hold(object(), until=until, seconds=seconds)


class BulkResultScreen(ModalScreen):
    """What a bulk action did, ticket by ticket: refusals first, each with its reason."""

    CSS_PATH = "bulk.tcss"
    COMPONENT_CLASSES = {"bulk--done", "bulk--refused"}
    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="bulk_results_close")]

    def __init__(self, headline: str, results: list[Result]) -> None:
        super().__init__()
        self.headline, self.results = headline, results

    def compose(self) -> ComposeResult:
        lines = Text()
        done, refused = self.get_component_rich_style("bulk--done"), self.get_component_rich_style("bulk--refused")
        for r in sorted(self.results, key=lambda r: r.done):  # stable: refusals first, each group in tag order
            lines.append("✓ " if r.done else "✗ ", style=done if r.done else refused)
            lines.append(r.reference, style="bold")
            lines.append(("  " if r.done else "  refused: ") + r.text + "\n")
        with Vertical(id="bulk-box"):
            yield Static(Text(self.headline, style="bold"), id="bulk-headline")
            with VerticalScroll(id="bulk-results"):
                yield Static(lines, id="bulk-lines")
            yield Static(
                Text.assemble(("enter", "bold"), " or ", ("escape", "bold"), " back to the queue"), id="bulk-keys"
            )
        yield KeyFooter()

    def action_close(self) -> None:
        self.dismiss()
