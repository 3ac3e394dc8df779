"""`esimdesk dashboard` (the wall display in this terminal) and `esimdesk serve`
(the same display in a browser, through textual-serve).

Both need the `dashboard` permission (supervisor or admin). `serve` starts one
dashboard process per browser connection with this environment's own Python
(`sys.executable -m app.cli.main ... dashboard --kiosk`), so it works without
the project's environment on PATH. The served processes run as the OS user that
started `serve`: that account must be a supervisor or admin on the desk, and
anyone who can reach the port sees the (read-only, PII-free) dashboard. Keep
the default 127.0.0.1 and put a reverse proxy that handles login in front.
Textual is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import TYPE_CHECKING, cast

from app.cli.keymap import check_keys
from app.cli.numbers import int_in
from app.errors import InputError

if TYPE_CHECKING:
    from textual_serve.server import Server

    from app.cli.context import CliContext, Subparsers


REFRESH_RANGE = (0.2, 3600.0)


def register(sub: Subparsers) -> None:  # sub: argparse subparsers
    p = sub.add_parser(
        "dashboard",
        help="open the supervisors' wall display (read-only)",
        description="Open straight into the supervisors' wall display (read-only).",
    )
    p.add_argument(
        "--kiosk",
        action="store_true",
        help="unattended wall screen: no key footer, every key ignored; ctrl+x twice within 2 s exits",
    )
    p.add_argument(
        "--refresh", type=float, metavar="S", help="seconds between refreshes (default: dashboard.refresh_seconds, 5)"
    )
    p.set_defaults(func=run_dashboard)

    s = sub.add_parser(
        "serve",
        help="serve the wall display to a browser (textual-serve)",
        description="Serve the wall display to a browser. Bound to 127.0.0.1 by default: "
        "put a reverse proxy that handles login in front of it.",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int_in(1, 65535, "a port"), default=8000, help="port (default 8000)")
    s.add_argument("--refresh", type=float, metavar="S", help="seconds between refreshes")
    s.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers use, when behind a reverse proxy (e.g. https://wall.example.com)",
    )
    s.set_defaults(func=run_serve)


def _refresh(args: argparse.Namespace) -> float | None:
    if args.refresh is None:
        return None
    lo, hi = REFRESH_RANGE
    if not lo <= args.refresh <= hi:  # also nan and inf
        raise InputError(f"--refresh must be a positive number of seconds from {lo:g} to {hi:g}, got {args.refresh}")
    return float(args.refresh)


def run_dashboard(args: argparse.Namespace, ctx: CliContext) -> int:
    refresh = _refresh(args)
    actor = ctx.actor()
    actor.require("dashboard", "open the dashboard")
    check_keys(ctx.config.keys)
    from app.tickets import utcnow
    from app.wall import WallApp

    wall = WallApp(ctx.desk, actor, ctx.config, now=utcnow, kiosk=args.kiosk, refresh_seconds=refresh)
    wall.run()
    return int(wall.return_code or 0)


def serve_command(args: argparse.Namespace, db_url: str) -> tuple[str, dict[str, str]]:
    """The command textual-serve runs per connection, and the environment
    it needs (the database URL travels in ESIMDESK_DB, not on the command
    line, so a password never shows in the process list or page title)."""
    parts = [sys.executable, "-m", "app.cli.main"]
    if getattr(args, "config", None):
        parts += ["--config", os.path.abspath(args.config)]
    if getattr(args, "as_login", None):
        parts += ["--as", args.as_login]
    parts += ["dashboard", "--kiosk"]
    refresh = _refresh(args)
    if refresh is not None:
        parts += ["--refresh", repr(refresh)]
    return " ".join(shlex.quote(p) for p in parts), {"ESIMDESK_DB": db_url}


def run_serve(args: argparse.Namespace, ctx: CliContext) -> int:
    if not 0 < args.port < 65536:
        raise InputError(f"--port out of range: {args.port}")
    actor = ctx.actor()
    actor.require("dashboard", "serve the dashboard")
    check_keys(ctx.config.keys)
    command, env = serve_command(args, ctx.db_url)
    os.environ.update(env)
    # the served processes import the project from its root, whatever the cwd
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    limit = int(cast(int, ctx.config.setting("serve", "max_sessions")))
    server = limited_server(limit)(
        command, host=args.host, port=args.port, title="esimdesk — wall display", public_url=args.public_url
    )
    print(
        f"esimdesk: serving the wall display on http://{args.host}:{args.port} (as {actor.login}, at most {limit} viewers); "
        "Ctrl+C stops",
        file=sys.stderr,
    )
    server.serve()
    return 0


def full_message(limit: int) -> str:
    return (
        f"The wall display already has {limit} viewer{'s' if limit != 1 else ''} (the [serve] max_sessions limit). "
        "Close one, then reload this page."
    )


def limited_server(limit: int) -> type[Server]:
    """textual-serve's Server, starting at most `limit` dashboard processes
    at a time (each is a whole Python process): the next browser is told so
    on its screen and its connection closed, no process started."""
    from aiohttp import WSCloseCode, web
    from textual_serve.server import Server

    class LimitedServer(Server):
        sessions = 0

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            if self.sessions >= limit:
                websocket = web.WebSocketResponse()
                await websocket.prepare(request)
                await websocket.send_bytes(("\r\n  " + full_message(limit) + "\r\n").encode())
                await websocket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"max_sessions")
                return websocket
            self.sessions += 1
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions -= 1

    return LimitedServer
