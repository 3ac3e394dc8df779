"""`esimdesk dashboard`: a Textual App that opens straight into the wall display.

Like app/console.py this module is presentation (it imports Textual); the
figures come from app.dashboard_data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import events
from textual.app import App
from textual.binding import Binding

from app.config import DeskConfig
from app.db import Desk
from app.identity import Actor
from app.screen_context import ContextHolder, ScreenContext
from app.terminal_watch import exit_when_terminal_gone

KIOSK_EXIT_KEY = "ctrl+x"  # pressed twice within KIOSK_EXIT_SECONDS: the only way out of --kiosk
KIOSK_EXIT_SECONDS = 2.0


class WallApp(ContextHolder, App[None]):
    """The supervisors' wall display on its own (read-only). With `kiosk`
    every key is ignored except the exit chord: ctrl+x twice within 2 s."""

    TITLE = "esimdesk — wall display"
    BINDINGS = [Binding("q", "quit", "Quit")]
    is_wall = True

    def __init__(
        self,
        desk: Desk,
        actor: Actor,
        config: DeskConfig,
        now: Callable[[], datetime],
        kiosk: bool = False,
        refresh_seconds: float | None = None,
    ) -> None:
        super().__init__()
        self.context = ScreenContext(desk, actor, config, now, wall=True)
        self.kiosk = kiosk
        self.refresh_seconds = refresh_seconds
        self._exit_armed: float | None = None  # when the first half of the exit chord was pressed

    async def on_event(self, event: events.Event) -> None:
        if self.kiosk and isinstance(event, events.Key):
            self._kiosk_key(event.key)
            return  # no binding, no screen, no palette ever sees it
        await super().on_event(event)

    def _kiosk_key(self, key: str) -> None:
        import time

        now = time.monotonic()
        if key != KIOSK_EXIT_KEY:
            self._exit_armed = None
        elif self._exit_armed is not None and now - self._exit_armed <= KIOSK_EXIT_SECONDS:
            self.exit()
        else:
            self._exit_armed = now

    def on_mount(self) -> None:
        from screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen(kiosk=self.kiosk, refresh_seconds=self.refresh_seconds))
        exit_when_terminal_gone(self)
