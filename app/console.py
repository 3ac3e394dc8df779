"""The Textual App: wires the screens to the services.

`EsimdeskApp(desk, actor, config, now=callable, calendar=None)`. Screens read
`app.desk`, `app.actor`, `app.config`, `app.now()` (aware UTC) and
`app.calendar` (loaded lazily: the queue's first frame does not need it).
Keys come from Binding ids, remapped by the config's `[keys]` table; the
command palette lists every action that works on the current screen.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from app.config import DeskConfig
from app.db import Desk
from app.identity import Actor


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EsimdeskApp(App):
    """The desk console for one staff member."""

    TITLE = "esimdesk"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    CSS_PATH = [
        "console.tcss",
        "../widgets/ticket_table.tcss",
        "../widgets/countdown.tcss",
        "../widgets/timeline.tcss",
        "../widgets/ticket_header.tcss",
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
        calendar=None,  # app.business_calendar.BusinessCalendar
    ) -> None:
        super().__init__()
        from app.presence import new_session_id

        self.desk = desk
        self.actor = actor
        self.config = config or DeskConfig()
        self.now: Callable[[], datetime] = now or _utcnow
        self._calendar = calendar
        self.session_id = new_session_id()
        self.sub_title = f"{actor.name} ({actor.login}, {actor.role})"

    @property
    def calendar(self):
        """The desk's business calendar (built on first use)."""
        if self._calendar is None:
            from app.business_calendar import desk_calendar

            self._calendar = desk_calendar(self.config)
        return self._calendar

    def get_default_screen(self) -> Screen:
        """The queue is the home screen (no blank screen composed first)."""
        from screens.queue import QueueScreen

        return QueueScreen()

    def on_mount(self) -> None:
        if self.config.keys:
            self.set_keymap(dict(self.config.keys))

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

    def open_refund_wizard(self, reference: str) -> None:
        """Push the refund wizard for `reference` (if that screen is built)."""
        try:
            from screens.refund_wizard import RefundWizardScreen
        except ImportError:
            self.notify("refund wizard: not available yet", severity="warning")
            return
        self.push_screen(RefundWizardScreen(reference))

    # -- command palette -------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            b = active.binding
            if b.system or not b.description or b.action in seen or b.action in ("command_palette",):
                continue
            seen.add(b.action)
            if not active.enabled:
                continue
            yield SystemCommand(
                b.description,
                f"{b.action.replace('_', ' ')} — key {b.key_display or self.get_key_display(b)}",
                partial(self.call_later, self.run_action, b.action, active.node),
            )
