"""The Textual App: wires the screens to the services.

`EsimdeskApp(desk, actor, config, now=callable, calendar=None)`: the edge (the
CLI context) loads the config and passes it in. Screens read `self.ctx`, one
typed ScreenContext (app/screen_context.py: desk, actor, config, `now()`
(aware UTC) and the calendar, built lazily: the queue's first frame does not
need it).
Keys come from Binding ids, remapped by the config's `[keys]` table; the
command palette lists every action that works on the current screen.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from app.config import DeskConfig
from app.console_keys import TypeAheadApp
from app.db import Desk
from app.identity import Actor
from app.screen_context import ContextHolder, ScreenContext
from app.terminal_watch import exit_when_terminal_gone
from screens.read_ahead import AheadView, ReadAheadApp
from widgets.textual_compat import escape_then_key, load_screen_css, screen_stack, set_breakpoints

if TYPE_CHECKING:
    from app.business_calendar import BusinessCalendar
    from app.ticket_view import DetailData
    from screens.ticket_detail import TicketDetailScreen

# The cyclic collector: young collections less often (Textual's strips keep themselves in their own
# caches, so every frame leaves cycles behind), and a full collection, which walks every object made
# since the heap was frozen (10-30 ms), left to moments when the screens are idle (_collect_when_idle)
# instead of every 10th middle collection, in the middle of a key.
GC_THRESHOLDS = (2000, 10, 100)
IDLE_COLLECT_AFTER = 0.5  # seconds with nothing to paint before a full collection may run
IDLE_COLLECT_MIDDLE = 5  # ... once this many middle collections ran since the last full one
DETAIL_SCREEN = "ticket-detail"  # name the kept detail screen is installed under
OPEN_PATIENCE = 0.25  # seconds a ticket's read may take before its screen is shown half-filled
OPEN_HOLD = 5.0  # seconds keys typed after "open" may wait for the ticket before going to whatever is shown


def start_view(config: DeskConfig, actor: Actor) -> str:
    """The queue view the console opens on: `[console] start_view`, else
    "My tickets" for agents and seniors (their own work) and "All" for others."""
    if config.console_start_view:
        return config.console_start_view
    return "my" if actor.role in ("agent", "senior") else "all"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EsimdeskApp(ContextHolder, ReadAheadApp, TypeAheadApp):
    """The desk console for one staff member (keys dispatched in order: console_keys)."""

    TITLE = "esimdesk"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    # The queue's own CSS_PATH too: it is the first screen, and read with the app's it is parsed
    # once at start (loaded with the screen, the whole stylesheet was parsed a second time, ~5 ms)
    CSS_PATH = [
        "console.tcss",
        "../widgets/ticket_table.tcss",
        "../widgets/timeline.tcss",
        "../widgets/ticket_header.tcss",
        "../screens/queue.tcss",
    ]
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("d", "dashboard", "Dashboard", id="dashboard"),
        Binding("E", "escalation_queue", "Escalation queue", id="escalation_queue"),
        Binding("M", "quarantine", "Quarantine", id="quarantine"),
    ]

    def __init__(
        self,
        desk: Desk,
        actor: Actor,
        config: DeskConfig | None = None,
        now: Callable[[], datetime] | None = None,
        calendar: BusinessCalendar | None = None,
    ) -> None:
        super().__init__()
        from app.presence import new_session_id

        escape_then_key()  # Escape typed fast before a key is not Alt+key
        self.context = ScreenContext(desk, actor, config or DeskConfig(), now or _utcnow, calendar)
        self.session_id = new_session_id()
        self.sub_title = f"{actor.name} ({actor.login}, {actor.role})"
        self._heap_frozen = False
        self._opening: object | None = None  # token of the open_ticket in flight
        self._opening_ahead: tuple[object, str, Screen[Any]] | None = None  # (token, ref, origin) awaiting a read-ahead
        self._detail: TicketDetailScreen | None = None  # the kept detail screen (detail_screen())
        self._changed_at = 0.0  # monotonic time a screen last had something to paint (screen_changed)

    class TicketRead(Message):
        """open_ticket's worker read the ticket (data) or could not (error)."""

        def __init__(
            self, token: object, reference: str, origin: Screen[object], data: DetailData | None, error: str | None
        ) -> None:
            super().__init__()
            self.token, self.reference, self.origin, self.data, self.error = token, reference, origin, data, error

    def get_default_screen(self) -> Screen[Any]:  # Textual's own signature
        """The queue is the home screen (no blank screen composed first).

        Textual loads a screen's CSS_PATH when the screen is pushed, never for
        the default screen: without this the queue's own styles (its one-line
        filter bar, the highlighted view) were silently missing."""
        from screens.queue import QueueScreen

        screen = QueueScreen(start_view(self.config, self.actor))
        load_screen_css(self, screen)
        set_breakpoints(screen, *self.size)  # (its widgets styled once at start, not again at its first resize)
        return screen

    def on_mount(self) -> None:
        if self.config.keys:
            self.set_keymap(dict(self.config.keys))
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        gc.enable()  # `esimdesk` starts with it off (app.cli.main)
        self.set_interval(IDLE_COLLECT_AFTER, self._collect_when_idle)
        exit_when_terminal_gone(self)

    def _on_idle(self) -> None:  # Textual's own handler runs after this one
        """Paint the screen's changes now if it waited for the app (widgets.kept_screen)."""
        stack = screen_stack(self)
        paint = getattr(stack[-1], "paint_if_idle", None) if stack else None
        if paint is not None:
            paint()

    def screen_changed(self) -> None:
        """A screen has something to paint (widgets.kept_screen): not a moment for a full collection."""
        self._changed_at = monotonic()

    def quiet_for(self) -> float:
        """Seconds since a screen last had something to paint."""
        return monotonic() - self._changed_at

    def _collect_when_idle(self) -> None:
        """The full collection, while nothing changes on screen and no key waits."""
        if (
            gc.get_count()[2] >= IDLE_COLLECT_MIDDLE
            and not self.keys_waiting
            and self.quiet_for() >= IDLE_COLLECT_AFTER
        ):
            gc.collect()

    def freeze_heap(self) -> None:
        """Keep the start-up objects out of the cyclic collector's way (once).

        Without this a full collection walks every object the imports, the
        ORM and the widgets made (~240k) and pauses the console 100-200 ms in
        the middle of a key press; frozen, it walks only what was made since.
        The queue calls this once its first rows are on screen.
        """
        if not self._heap_frozen:
            self._heap_frozen = True
            gc.freeze()

    def _freeze_kept_detail(self) -> None:
        """The same for the kept ticket screen, after it showed its first ticket:
        it lives as long as the app, and a full collection walking its widgets
        and their caches took 130-160 ms once every ~10 opens (5 ms frozen)."""
        gc.freeze()

    @property
    def _background_screens(self) -> list[Screen[Any]]:  # Textual's own signature
        """Screens showing through the top one: none when it is opaque.

        Textual always counts the screen below as visible, so every repaint of
        the covered queue (its clocks, the refresh it gets when a screen is
        pushed over it) repainted the whole ticket detail screen too: one
        extra full frame per open, one per second while a ticket is shown."""
        stack = screen_stack(self)
        if stack and stack[-1].styles.background.a == 1:
            return []
        return super()._background_screens

    # -- app-wide actions ----------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "dashboard":
            return self.actor.can("dashboard")
        if action == "quarantine":
            return self.actor.can("quarantine")
        if action == "escalation_queue":
            return self.actor.can("review_escalations") or self.actor.can("review_queue_view")
        return True

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def action_dashboard(self) -> None:
        try:
            from screens.dashboard import DashboardScreen
        except ImportError:
            self.notify("dashboard: not available yet", severity="warning")
            return
        self.push_screen(DashboardScreen())

    def action_escalation_queue(self) -> None:
        from screens.escalation_queue import EscalationQueueScreen

        if not isinstance(self.screen, EscalationQueueScreen):
            self.push_screen(EscalationQueueScreen())

    def action_quarantine(self) -> None:
        from screens.quarantine import QuarantineScreen

        if not isinstance(self.screen, QuarantineScreen):
            self.push_screen(QuarantineScreen())

    def open_ticket(self, reference: str) -> None:
        """Show ticket `reference`, read first in a worker.

        The detail screen is pushed once its data is in, so it is composed
        complete (one layout, no "loading" frame): at once when the row was
        read ahead (screens.read_ahead), when that read ends if it is
        running, else after a read of its own. Should the read take longer
        than OPEN_PATIENCE the screen is shown at once and reads for itself.
        Keys typed meanwhile wait and go to the ticket once it is shown.
        """
        if self._opening is not None:
            self.release_keys(self._opening)  # superseded: its result is dropped
        token = self._opening = object()
        self._opening_ahead = None
        origin = self.screen
        self.hold_keys(token, seconds=OPEN_HOLD)
        ahead = self.take_ahead(reference)
        if ahead is not None:
            self._opened_ahead(token, origin, ahead)
            return
        if self.reading_ahead(reference):
            self._opening_ahead = (token, reference.strip().upper(), origin)
        else:
            self.run_worker(
                partial(self._read_ticket, token, reference, origin), thread=True, exclusive=True, group="open-ticket"
            )
        self.set_timer(OPEN_PATIENCE, partial(self._open_unread, token, reference, origin))

    def ahead_arrived(self, view: AheadView) -> None:
        waiting = self._opening_ahead
        if waiting is None or waiting[1] != view.reference:
            return
        self._opening_ahead = None
        self.forget_ahead()  # used here, once
        if view.data is None and not view.error:  # it failed: a read of its own says why
            self.run_worker(partial(self._read_ticket, *waiting), thread=True, exclusive=True, group="open-ticket")
            return
        self._opened_ahead(waiting[0], waiting[2], view)

    def _opened_ahead(self, token: object, origin: Screen[Any], view: AheadView) -> None:
        self.on_esimdesk_app_ticket_read(self.TicketRead(token, view.reference, origin, view.data, view.error))

    def _read_ticket(self, token: object, reference: str, origin: Screen[object]) -> None:
        from app.ticket_view import read_detail

        data, error = read_detail(self.desk, reference, self.actor, self.config)
        self.post_message(self.TicketRead(token, reference, origin, data, error))

    def on_esimdesk_app_ticket_read(self, message: TicketRead) -> None:
        if message.token is not self._opening:
            return  # superseded, or the screen was already shown by _open_unread
        self._opening = None
        if self.screen is not message.origin:
            self.release_keys(message.token)
            return  # the person went elsewhere meanwhile
        if message.data is None:
            self.release_keys(message.token)
            self.notify(message.error or "cannot load the ticket", severity="error")
            return
        self._push_detail(message.reference, message.data, message.token)

    def _open_unread(self, token: object, reference: str, origin: Screen[object]) -> None:
        if token is not self._opening:
            return
        self._opening = None
        if self.screen is not origin:
            self.release_keys(token)
            return
        self._push_detail(reference, None, token)

    def detail_screen(self) -> TicketDetailScreen:
        """The one TicketDetailScreen kept for the app's life (installed, so
        popping it keeps its widgets for the next ticket)."""
        from screens.ticket_detail import TicketDetailScreen

        if self._detail is None:
            self._detail = TicketDetailScreen()
            self.install_screen(self._detail, DETAIL_SCREEN)
        return self._detail

    def _push_detail(self, reference: str, data: DetailData | None, token: object = None) -> None:
        """Show ticket `reference` on the kept detail screen: filled in place
        before it is pushed, so its first frame is already this ticket. Keys
        held by `token` go once it is pushed (and, unread, has its data)."""
        from screens.ticket_detail import TicketDetailScreen

        screen = self.detail_screen()
        if screen in self.screen_stack:  # already open below (opened from above it): a one-off screen
            screen = TicketDetailScreen(reference, data=data)
            self.push_screen(screen)
            self._hold_until_shown(token, screen)
            return
        screen.show_ticket(reference, data)
        if not screen.is_mounted:
            self.push_screen(screen)  # composed with this ticket on its first push
            self._hold_until_shown(token, screen)
            self.call_after_refresh(self._freeze_kept_detail)
            return

        async def push_when_ready() -> None:
            await screen.prepare_to_show()  # its footer's keys and its layout in the first frame too
            if screen not in self.screen_stack:
                self.push_screen(screen)
            self._hold_until_shown(token, screen)

        screen.call_next(push_when_ready)

    def _hold_until_shown(self, token: object, screen: TicketDetailScreen) -> None:
        """Keys held for opening `screen` go once it shows its ticket (the
        screen's own read, when it was pushed unread) or it is closed."""
        if token is None:
            return
        if screen.data is None:
            self.hold_keys(
                token, until=lambda: screen.data is not None or screen not in self.screen_stack, seconds=OPEN_HOLD
            )
        else:
            self.release_keys(token)

    def open_refund_wizard(self, reference: str) -> None:
        """Push the refund wizard for `reference` (if that screen is built)."""
        try:
            from screens.refund_wizard import RefundWizardScreen
        except ImportError:
            self.notify("refund wizard: not available yet", severity="warning")
            return
        self.push_screen(RefundWizardScreen(reference))

    # -- command palette -------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:  # Textual's own signature
        yield from super().get_system_commands(screen)  # its Quit is the only one: q is that action too
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            b = active.binding
            if b.system or not b.description or b.action in seen or b.action in ("command_palette", "quit"):
                continue
            seen.add(b.action)
            if not active.enabled:
                continue
            yield SystemCommand(
                b.description,
                f"key {b.key_display or self.get_key_display(b)}",
                partial(self.call_later, self.run_action, b.action, active.node),
            )
