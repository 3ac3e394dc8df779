"""`esimdesk dashboard`: a Textual App that opens straight into the wall display.

Like app/console.py this module is presentation (it imports Textual); the
figures come from app.dashboard_data.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import App
from textual.binding import Binding

from app.config import DeskConfig
from app.db import Desk
from app.identity import Actor


class WallApp(App):
    """The supervisors' wall display on its own (read-only)."""

    TITLE = "esimdesk — wall display"
    BINDINGS = [Binding("q", "quit", "Quit")]
    is_wall = True

    def __init__(self, desk: Desk, actor: Actor, config: DeskConfig, now: Callable[[], datetime],
                 kiosk: bool = False, refresh_seconds: float | None = None) -> None:
        super().__init__()
        self.desk = desk
        self.actor = actor
        self.config = config
        self.now = now
        self.kiosk = kiosk
        self.refresh_seconds = refresh_seconds

    def on_mount(self) -> None:
        from screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen(kiosk=self.kiosk, refresh_seconds=self.refresh_seconds))
