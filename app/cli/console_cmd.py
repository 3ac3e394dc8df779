"""`esimdesk` (no sub-command) and `esimdesk console`: open the console.

The staff member is resolved BEFORE Textual is imported: an unknown OS
account gets a one-line refusal (exit 2) and never sees a byte of desk data.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers
    from app.console import EsimdeskApp


def register(sub: Subparsers) -> None:  # sub: argparse subparsers
    p = sub.add_parser("console", help="open the keyboard-first console (the default command)")
    p.set_defaults(func=open_console)


def console_app(ctx: CliContext, now: Callable[[], datetime] | None = None) -> EsimdeskApp:
    """The console for the staff member running it (`now`: a fixed clock, for the bench)."""
    actor = ctx.actor()  # raises AccessDenied (one line, exit 2) before any screen exists
    from app.cli.keymap import check_keys

    check_keys(ctx.config.keys)
    from app.console import EsimdeskApp

    return EsimdeskApp(ctx.desk, actor, ctx.config, now=now)


def open_console(args: argparse.Namespace, ctx: CliContext) -> int:
    app = console_app(ctx)
    app.run()
    return int(app.return_code or 0)
