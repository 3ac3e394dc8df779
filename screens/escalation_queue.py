"""Escalation queue for seniors: only escalations they may review (the
impartiality rule, app.workflow.ineligibility), each with its 5-business-day
countdown; the original complaint's resolution and the customer's reason side
by side for the highlighted one. Supervisors see every open escalation."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from app.queue_query import QueueRow
from app.screen_context import UsesContext
from app.untrusted import inert
from app.workflow.review_queue import SideBySide, reviewable, side_by_side
from widgets.key_footer import KeyFooter
from widgets.ticket_table import TicketTable


class ListSource:
    """A TicketTable source over rows already in memory (a short list)."""

    def __init__(self, rows: list[QueueRow]) -> None:
        self.rows = rows

    def count(self) -> int:
        return len(self.rows)

    def page(self, offset: int, limit: int) -> list[QueueRow]:
        return self.rows[offset : offset + limit]


class EscalationQueueScreen(UsesContext, Screen):
    """Escalations awaiting a senior's final response."""

    CSS_PATH = "escalation_queue.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("C", "open_complaint", "Open the complaint", id="open_related"),
    ]

    class Rows(Message):
        def __init__(self, rows: list[QueueRow]) -> None:
            super().__init__()
            self.rows = rows

    class Side(Message):
        def __init__(self, sbs: SideBySide) -> None:
            super().__init__()
            self.sbs = sbs

    def compose(self) -> ComposeResult:
        yield Static("Escalation queue  ·  loading…", id="esc-title", classes="bar", markup=False)
        yield TicketTable(self.ctx.now, at_risk_share=self.ctx.config.at_risk_share, id="esc-table")
        with Horizontal(id="esc-side"):
            yield Static("", id="esc-resolution", markup=False)
            yield Static("", id="esc-reason", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(TicketTable).focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="esc-load")
    def load(self) -> None:
        try:
            rows = self.ctx.desk.read(reviewable, self.ctx.actor, self.ctx.now())
        except Exception as exc:  # noqa: BLE001 - said on screen; the console stays
            self.say_read_failed(exc)
            return
        self.post_message(self.Rows(rows))

    def on_escalation_queue_screen_rows(self, message: Rows) -> None:
        actor = self.ctx.actor
        who = "you may review" if actor.can("review_escalations") else "open"
        self.query_one("#esc-title", Static).update(
            Text.assemble(
                ("Escalation queue", "bold"),
                f"  ·  {len(message.rows):,} escalations {who}  ·  {actor.login} ({actor.role})",
            )
        )
        table = self.query_one(TicketTable)
        table.set_source(ListSource(message.rows), keep_cursor=True)
        if not message.rows:
            self.query_one("#esc-resolution", Static).update("")
            self.query_one("#esc-reason", Static).update("")

    @on(TicketTable.Highlighted)
    def _highlighted(self, message: TicketTable.Highlighted) -> None:
        self.load_side(message.row.id)

    @work(thread=True, exclusive=True, group="esc-side")
    def load_side(self, ticket_id: int) -> None:
        try:
            sbs = self.ctx.desk.read(side_by_side, ticket_id)
        except Exception as exc:  # noqa: BLE001 - said on screen; the console stays
            self.say_read_failed(exc)
            return
        self.post_message(self.Side(sbs))

    def on_escalation_queue_screen_side(self, message: Side) -> None:
        sbs = self._sbs = message.sbs
        self.query_one("#esc-resolution", Static).update(
            Text.assemble((f"Original resolution ({sbs.complaint})\n", "bold"), inert(sbs.resolution, limit=2000))
        )
        self.query_one("#esc-reason", Static).update(
            Text.assemble((f"Customer's reason ({sbs.reference})\n", "bold"), inert(sbs.reason, limit=2000))
        )

    @on(TicketTable.Selected)
    def _open(self, message: TicketTable.Selected) -> None:
        self.app.open_ticket(message.row.reference)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_open_complaint(self) -> None:
        """The complaint the highlighted escalation escalates (escape comes back here)."""
        sbs = getattr(self, "_sbs", None)
        if sbs is not None and sbs.complaint != "?":
            self.app.open_ticket(sbs.complaint)
