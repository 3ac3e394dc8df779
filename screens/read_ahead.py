"""Reading ahead the ticket under a queue's cursor, so enter opens it from memory.

When the cursor of a ticket table rests on a row (`TicketTable.Highlighted`,
which bubbles up to the App), the ticket view of that row (app.ticket_view)
is read in a thread worker once the frame showing the move is painted: the
move's own frame never waits for it, and no read starts while more keys are
waiting (an arrow held down). One read runs at a time; a cursor moving on
meanwhile only changes which ticket is read next (the rows passed over are
never read). Enter then finds the view already read (the ticket
screen is filled and pushed at once), or being read (the open waits for that
read instead of starting a second one).

A view read ahead is used once, and only within READ_AHEAD_FRESH seconds; the
ticket screen checks the ticket's version right after its first frame, so a
change made since the read is shown at once (app.console's open_ticket).
"""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic
from typing import Any

from textual.app import App
from textual.message import Message

READ_AHEAD_FRESH = 30.0  # seconds a view read ahead may be shown without reading it again


@dataclass
class AheadView:
    """A ticket view read ahead, and when (monotonic seconds)."""

    reference: str
    data: Any  # app.ticket_view.DetailData, or None when it could not be read
    error: str | None  # why not (a DeskError's words); None with no data: read it again
    read_at: float


class ReadAheadApp(App[Any]):
    """Mixed into the console App: the read-ahead of the highlighted row."""

    class AheadRead(Message):
        """The read-ahead worker read `view` (on the App)."""

        def __init__(self, view: AheadView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ahead_wanted: str | None = None  # the row the cursor rests on
        self._ahead_reading: str | None = None  # the reference being read now
        self._ahead: AheadView | None = None  # the last view read ahead, not used yet

    def on_ticket_table_highlighted(self, message: Any) -> None:
        """A ticket table's cursor moved to a row: read it once the move is painted.
        The first row of a view just switched to waits for the view's count
        (`on_ticket_table_counted`): read at once, it ran beside the next
        switch's rows when views were switched in a row (1,000,000 tickets:
        5-10 ms of the console's CPU and the database's time a switch)."""
        reference = message.row.reference
        if reference == self._ahead_wanted:
            return
        self._ahead_wanted = reference
        if getattr(message, "settled", True):
            self.call_after_refresh(self._read_ahead_next)

    def on_ticket_table_counted(self, message: Any) -> None:
        """A ticket table's count is in: the row its cursor rests on is read now, if it waited."""
        self.call_after_refresh(self._read_ahead_next)

    def _read_ahead_next(self) -> None:
        wanted = self._ahead_wanted
        if wanted is None or self._ahead_reading is not None:
            return  # nothing wanted, or a read runs: it starts the next one when done
        if getattr(self, "keys_waiting", 0):
            return  # more keys typed (a held arrow): the cursor is not resting; its next move asks again
        if self._ahead is not None and self._ahead.reference == wanted and self._fresh(self._ahead):
            return
        self._ahead_reading = wanted
        self.run_worker(
            lambda: self._read_ahead(wanted), thread=True, group="read-ahead", name="read-ahead", exit_on_error=False
        )

    def _read_ahead(self, reference: str) -> None:
        from app.ticket_view import read_detail

        ctx = self.context  # type: ignore[attr-defined]
        try:
            data, error = read_detail(ctx.desk, reference, ctx.actor, ctx.config)
        except Exception:  # noqa: BLE001 - only a head start: the open reads it again and says what failed
            data, error = None, None
        self.post_message(self.AheadRead(AheadView(reference, data, error, monotonic())))

    def on_read_ahead_app_ahead_read(self, message: AheadRead) -> None:
        view = message.view
        self._ahead_reading = None
        self._ahead = view
        self.ahead_arrived(view)
        self._read_ahead_next()  # the cursor moved on meanwhile: read where it rests now

    def ahead_arrived(self, view: AheadView) -> None:
        """Hook: a view read ahead is in (the open waiting for it takes it)."""

    @staticmethod
    def _fresh(view: AheadView) -> bool:
        return monotonic() - view.read_at < READ_AHEAD_FRESH

    def take_ahead(self, reference: str) -> AheadView | None:
        """The view of `reference` read ahead and still fresh (used once), else None."""
        view = self._ahead
        if view is None or view.reference != reference.strip().upper():
            return None
        self._ahead = None
        return view if self._fresh(view) and (view.data is not None or view.error) else None

    def reading_ahead(self, reference: str) -> bool:
        """The read-ahead is reading `reference` now."""
        return self._ahead_reading == reference.strip().upper()

    def forget_ahead(self) -> None:
        """Drop any view read ahead (the desk changed under it)."""
        self._ahead = None
