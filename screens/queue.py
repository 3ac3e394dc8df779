"""The queue: the home screen. A virtual table over the desk's tickets, views
one key away (1-9, 0 for Replied), filter as you type (/), sorts (s), live
countdowns, colleagues' changes picked up within two seconds (change-marker
poll), a notice when one's own tickets get customer mail (the same poll),
and tagged rows worked in bulk (screens/bulk.py)."""

from __future__ import annotations

from dataclasses import replace

from rich.cells import cell_len
from rich.style import Style as RichStyle
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from app.change_marker import POLL_SECONDS, Watcher
from app.failures import one_line
from app.labels import plural
from app.queue_query import COUNT_CAP, SORTS, VIEW_TITLES, VIEWS, QueueQuery
from app.queue_source import QueueSource, warm_views
from app.unread import MailWatch, poll_changes
from screens.bulk import TAG_BINDINGS, TaggedRows
from widgets.filter_input import FilterInput
from widgets.kept_screen import KeptScreen
from widgets.key_footer import KeyFooter
from widgets.one_line import update_line
from widgets.ticket_table import TicketTable

SHORT_TITLES = {
    "my": "Mine",
    "unassigned": "Unassig.",
    "due_today": "Today",
    "at_risk": "Risk",
    "breached": "Breach",
    "escalations": "Esc",
    "refunds": "Refund",
    "out_of_scope": "OOS",
    "all": "All",
    "replied": "Repl.",
}
WARM_QUIET = 0.03  # seconds with nothing to paint before the next view's SQL is compiled ahead
# (key, view): the digit keys, 0 last
VIEW_KEYS: tuple[tuple[str, str], ...] = (*((str(i), v) for i, (v, _t) in enumerate(VIEWS, start=1)), ("0", "replied"))


def _how_many(n: int, more: bool, one: str, many: str | None = None) -> str:
    """'1 ticket', '1,204 tickets', or past the count's cap '10,000+ tickets'."""
    return f"{n:,}+ {many or one + 's'}" if more else plural(n, one, many)


class QueueScreen(TaggedRows, KeptScreen):
    """Tickets in view order; enter opens one."""

    CSS_PATH = "queue.tcss"
    AUTO_FOCUS = "#queue-table"
    COMPONENT_CLASSES = {"queue--view", "queue--view-current", "queue--key"}
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter"),
        Binding("s", "cycle_sort", "Sort", id="sort"),
        Binding("w", "refund_wizard", "Refund wizard", id="refund_wizard"),
        *[
            Binding(str(i), f"view('{view}')", title, show=False, id=f"view_{i}")
            for i, (view, title) in enumerate(VIEWS, start=1)
        ],
        Binding("0", "view('replied')", "Replied (the customer wrote last)", show=False, id="view_replied"),
        *TAG_BINDINGS,
    ]

    class Changed(Message):
        """The desk changed since the last poll."""

    class NewMail(Message):
        """Customer mail came in on tickets the person holds."""

        def __init__(self, references: list[str]) -> None:
            super().__init__()
            self.references = references

    def __init__(self, view: str | None = None) -> None:
        super().__init__()
        self.view = view or "all"
        self.sort = "due"
        self.text = ""
        self._failing: str | None = None  # the line last shown for a database failure, until it answers again
        self.total: int | None = None
        self.total_more = False  # more tickets than `total` (the count stops there: "10,000+")
        self.count_cap = COUNT_CAP
        self.watcher = Watcher()
        self.mail_watch: MailWatch | None = None  # made on mount (needs the app's actor)
        self._init_tags()
        self._enter_pending = False  # enter was pressed in the filter before its matches were in
        self._warming = False  # the other views' SQL is compiled ahead (once, after the first count)

    def compose(self) -> ComposeResult:
        yield Static(id="queue-title", classes="bar", markup=False)
        yield Static(id="queue-views", markup=False)
        with Horizontal(id="queue-filter-row"):
            yield Static("/", id="queue-filter-label", markup=False)
            yield FilterInput(placeholder="reference, customer, email, subject or order number", id="queue-filter")
            yield Static("", id="queue-filter-count", markup=False)
        yield Static("", id="queue-tagged", markup=False)
        yield TicketTable(self.ctx.now, at_risk_share=self.ctx.config.at_risk_share, id="queue-table")
        yield KeyFooter()

    @property
    def table(self) -> TicketTable:
        return self.query_one(TicketTable)

    def on_mount(self) -> None:
        self.query_one("#queue-filter-row").display = False
        self.query_one("#queue-tagged").display = False
        self.table.tagged = self.tagged
        self.mail_watch = MailWatch(self.ctx.actor.id)
        if self.app.is_headless:  # a steady cursor keeps headless runs deterministic
            self.query_one(Input).cursor_blink = False
        self._render_bars()
        self.watch(self.query_one(Input), "value", self._filter_changed, init=False)
        self.table.focus()
        self._load()
        self._keys_wait_for_rows()
        self.set_interval(POLL_SECONDS, self._poll)

    def on_resize(self) -> None:
        self._render_bars()
        self._render_tags()

    def on_screen_resume(self) -> None:
        # no reload here: the change-marker poll refreshes the rows only if something changed
        self._poll()
        if self.focused is None:  # focus() repaints even the focused table: a second frame on every back
            self.table.focus()

    # -- query ---------------------------------------------------------------
    def current_query(self) -> QueueQuery:
        cal = self.ctx.config.calendar
        return QueueQuery(
            view=self.view,
            text=self.text,
            sort=self.sort,
            actor_id=self.ctx.actor.id,
            tz=cal.timezone,
            at_risk_share=self.ctx.config.at_risk_share,
        )

    def _load(self, keep_cursor: bool = False) -> None:
        self.total = None if not keep_cursor else self.total
        source = QueueSource(self.ctx.desk, self.current_query(), self.ctx.now, count_cap=self.count_cap)
        self.table.set_source(source, keep_cursor=keep_cursor)
        self._render_bars()

    def _render_bars(self) -> None:
        total = "… tickets" if self.total is None else _how_many(self.total, self.total_more, "ticket")
        actor = self.ctx.actor
        title = Text.assemble(
            ("esimdesk", "bold"),
            f"  {actor.login} ({actor.role})  ·  ",
            (VIEW_TITLES[self.view], "bold"),
            f"  ·  {total}  ·  sort: {self.sort}",
        )
        if self.text:
            title.append(f"  ·  filter: {self.text}")
        update_line(self.query_one("#queue-title", Static), title)
        views = Text()
        # the current view in reverse video: unmistakable in every theme (the screen's
        # component-class rule alone did not reach the strip)
        cur = self.get_component_rich_style("queue--view-current") + RichStyle(reverse=True, bold=True)
        normal = self.get_component_rich_style("queue--view")
        key = self.get_component_rich_style("queue--key")
        short = self.app.size.width < 120
        for i, view in VIEW_KEYS:
            name = VIEW_TITLES[view]
            if short:
                name = SHORT_TITLES.get(view, name)
            style = cur if view == self.view else normal
            views.append(i if short else f" {i}", style=style + key)  # narrow: no lead space, so 0 fits in 80
            views.append(f" {name} ", style=style)
        update_line(self.query_one("#queue-views", Static), views)

    @on(TicketTable.Counted)
    def _counted(self, message: TicketTable.Counted) -> None:
        self.total, self.total_more = message.count, message.more
        self._render_bars()
        self._render_count()
        freeze = getattr(self.app, "freeze_heap", None)
        if freeze is not None:
            freeze()
        if not self._warming:
            self._warming = True
            others = [replace(self.current_query(), view=v, text="") for v, _ in VIEWS if v != self.view]
            self._warm_views(others, self.table)

    @work(thread=True, group="queue-warm", exit_on_error=False)
    def _warm_views(self, queries: list[QueueQuery], table: TicketTable) -> None:
        """The other views' SQL compiled at quiet moments (app.queue_source.warm_views)."""
        warm_views(self.ctx.desk, queries, self.ctx.now, lambda: self._quiet(table))

    def _quiet(self, table: TicketTable) -> bool | None:
        """(From the warm-up's thread) nothing to paint for a moment, no key waiting, no rows
        being read: True; the screen gone: None."""
        app = self.app
        if not self.is_attached or not app.is_running:
            return None
        quiet = getattr(app, "quiet_for", lambda: WARM_QUIET)() >= WARM_QUIET
        return quiet and not getattr(app, "keys_waiting", 0) and not table.reading

    @on(TicketTable.Selected)
    def _open(self, message: TicketTable.Selected) -> None:
        self.table.mark_read(message.row.id)  # the ticket screen records it seen
        self.app.open_ticket(message.row.reference)

    # -- actions -------------------------------------------------------------
    def action_view(self, view: str) -> None:
        if view not in VIEW_TITLES:
            return
        self.view = view
        self._load()
        self._keys_wait_for_rows()
        if self.focused is not self.table:  # focus() repaints even the focused table: its old rows, for nothing
            self.table.focus()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._load()
        self._keys_wait_for_rows()

    def _keys_wait_for_rows(self) -> None:
        """Keys typed behind a new view, a new sort or the first load wait
        until its first rows are in (app.console_keys): `3` then enter opens
        the first ticket due today, not the row the view before had under
        the cursor, nor nothing at start. A filter's characters do not wait
        (the rows follow the text as it is typed)."""
        hold = getattr(self.app, "hold_keys", None)
        if hold is not None:
            hold(("queue-rows", id(self)), until=lambda: self.table.showing_current)

    def action_filter(self) -> None:
        row = self.query_one("#queue-filter-row")
        row.display = True
        self._render_count()
        self.query_one(Input).focus()

    def action_clear_filter(self) -> None:
        inp = self.query_one(Input)
        if self.text or inp.value:
            inp.value = ""
            self.text = ""
            self._load()
        self.query_one("#queue-filter-row").display = False
        self.table.focus()

    def _render_count(self) -> None:
        """The filter bar's right end: how many tickets match what is typed."""
        if not self.text:
            words = "type to filter · enter: first match · escape: clear"
        elif self.total is None:
            words = "searching…"
        elif self.total == 0:  # a reference typed in the wrong view: say where else to look
            words = "no match" if self.view == "all" else f"no match in {VIEW_TITLES[self.view]} · enter: all tickets"
        else:
            then = "enter: first" if self.query_one(Input).has_focus else "enter opens · esc clears"
            words = f"{_how_many(self.total, self.total_more, 'match', 'matches')} · {then}"
        bar = self.query_one("#queue-filter-count", Static)
        if self.text and self.total is None:
            # keeps the width the bar has: a bar changing width lays the whole screen out
            # again (a frame as costly as the table's) in the frame echoing the character
            words = words.rjust(cell_len(str(bar.content)))
        update_line(bar, words, auto_width=True)

    def on_descendant_focus(self) -> None:
        if self.query_one("#queue-filter-row").display:
            self._render_count()

    def action_refund_wizard(self) -> None:
        row = self.table.current
        if row is None or row.kind != "refund":
            self.notify("the refund wizard works on a refund ticket: move the cursor to one", severity="warning")
            return
        self.app.open_refund_wizard(row.reference)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "refund_wizard":
            return self.ctx.actor.can("refund_decide")
        if action == "clear_filter":
            return bool(self.text) or self.query_one("#queue-filter-row").display
        return True

    def _filter_changed(self, value: str) -> None:
        # a watcher, not the Input.Changed message: called as the value changes, so
        # the title and count change in the frame that shows the character (not one later)
        self.text = value
        self._load()
        self._render_count()

    @on(Input.Submitted, "#queue-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        """Enter: to the first match (the next enter opens it); nothing
        matches in this view: look in All (a reference typed from My tickets
        finds a colleague's ticket), and in All, stay in the filter. Keys typed
        behind this enter wait until the matches for the text are in
        (app.console_keys)."""
        if not self.text:
            self.query_one("#queue-filter-row").display = False
            self.set_focus(self.table)
            return
        self._enter_pending = True
        hold = getattr(self.app, "hold_keys", None)
        if hold is not None:  # (also when the matches are in: none here, and All's are read next)
            hold(("queue-filter", id(self)), until=lambda: not self._enter_pending)
        self._to_first_match()

    @on(TicketTable.Highlighted)
    @on(TicketTable.Counted)
    def _to_first_match(self) -> None:
        if not self._enter_pending or not self.table.showing_current:
            return
        if self.table.row_count == 0 and self.view != "all":  # not in this view: look through every ticket
            self.view = "all"
            self._load()
            return
        self._enter_pending = False
        if self.table.row_count > 0:
            self.set_focus(self.table)  # at once: the next key already goes to the table

    # -- colleagues' changes ---------------------------------------------------
    @work(thread=True, exclusive=True, group="queue-poll")
    def _poll(self) -> None:
        mail = self.mail_watch
        try:
            changed, new_mail = self.ctx.desk.read(poll_changes, self.watcher, mail)
        except Exception as exc:  # noqa: BLE001 - the database failed under the poll: said once, polled again
            self.post_message(TicketTable.LoadFailed(one_line(exc, self.ctx.desk.url)))
            return
        if changed or self._failing is not None:
            self.post_message(self.Changed())
        if new_mail:
            self.post_message(self.NewMail(new_mail))

    def on_queue_screen_changed(self, message: Changed) -> None:
        if self._failing is not None:
            self._failing = None
            self.notify("The desk's database answers again.", title="Desk", timeout=5)
        self.table.reload()

    def on_ticket_table_load_failed(self, message: TicketTable.LoadFailed) -> None:
        """The database failed under a read: the rows on screen stay, the line
        is shown once (not on every poll), and the poll keeps trying."""
        message.stop()
        if message.line != self._failing:
            self._failing = message.line
            self.notify(
                f"{message.line}. The rows on screen may be out of date; retrying.",
                title="Desk",
                severity="error",
                timeout=10,
            )

    def on_queue_screen_new_mail(self, message: NewMail) -> None:
        shown = getattr(self.app.screen, "reference", None)  # the ticket open now shows its new mail itself
        refs = [r for r in message.references if r != shown]
        if refs:
            more = f" and {len(refs) - 3} more" if len(refs) > 3 else ""
            self.notify(f"new customer mail on {', '.join(refs[:3])}{more}", title="New mail", timeout=8)
