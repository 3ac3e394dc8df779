"""`esimdesk intake PATH... [--watch MAILDIR [--interval S] [--once]]` (the shared intake contract).

Prints one JSON summary object for the PATHs. With --watch, keeps polling the
Maildir's new/ folder: each message is ingested in its own transaction, then
moved to cur/ (flag S), and one JSON summary line is printed per pass that read
anything; --once makes a single pass (always printing its summary) for cron.
SIGTERM/SIGINT end the watch between two messages (exit 0).
Exit 2 only when a PATH (or the watched Maildir) cannot be read at all.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from app.cli.numbers import seconds_in
from app.cli.output import emit_json
from app.errors import InputError

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers
    from app.config import DeskConfig
    from app.db import Desk


def register(sub: Subparsers) -> None:
    p = sub.add_parser("intake", help="ingest email (.eml files, Maildir folders, mbox files) into tickets")
    p.add_argument("paths", nargs="*", metavar="PATH", help=".eml file, Maildir folder or mbox file")
    p.add_argument("--watch", metavar="MAILDIR", help="keep ingesting new mail arriving in this Maildir (new/ -> cur/)")
    p.add_argument(
        "--interval",
        type=seconds_in(0.05, 86400),
        default=10.0,
        metavar="S",
        help="seconds between polls with --watch (default 10)",
    )
    p.add_argument("--once", action="store_true", help="with --watch: one pass over new/, then exit (for cron)")
    p.set_defaults(func=handler)


def _emit(summary: dict[str, Any]) -> None:
    emit_json(summary)
    sys.stdout.flush()


def handler(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.mail.deferred_index import build_left_over
    from app.mail.ingest import ingest_paths
    from app.mail.sources import is_maildir

    if not args.paths and not args.watch:
        raise InputError("intake needs at least one PATH or --watch MAILDIR")
    if args.once and not args.watch:
        raise InputError("--once goes with --watch MAILDIR")
    if args.interval <= 0:
        raise InputError(f"--interval must be positive, got {args.interval}")
    watch = Path(args.watch) if args.watch else None
    if watch is not None and not is_maildir(watch):
        raise InputError(f"cannot watch {watch}: not a Maildir (needs new/ and cur/)")
    config = ctx.config
    desk = ctx.desk
    build_left_over(desk.engine)  # documents noted but never built (app.mail.deferred_index)
    if args.paths:
        summary = ingest_paths(desk, args.paths, config=config)
        _emit(summary.as_dict())
    if watch is not None:
        return _watch(desk, watch, args.interval, config, once=args.once)
    return 0


def _watch(desk: Desk, maildir: Path, interval: float, config: DeskConfig, once: bool = False) -> int:
    from app.mail.ingest import Summary, ingest_raw
    from app.mail.sources import RawMessage, maildir_files

    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop.is_set():
        summary = Summary()
        for file in maildir_files(maildir, ("new",)):
            if stop.is_set():
                break
            try:
                raw = file.read_bytes()
                mtime = file.stat().st_mtime
            except FileNotFoundError:
                continue
            rm = RawMessage(source=str(file), raw=raw, mtime=datetime.fromtimestamp(mtime, UTC), path=file)
            summary.items.append(ingest_raw(desk, rm, config=config))
            _mark_seen(maildir, file)
        if summary.items or once:
            _emit(summary.as_dict())
        if once:
            break
        deadline = time.monotonic() + interval
        while not stop.is_set() and time.monotonic() < deadline:
            time.sleep(min(0.2, interval))
    return 0


def _mark_seen(maildir: Path, file: Path) -> None:
    """new/NAME -> cur/NAME:2,S (the Maildir convention for a message taken in)."""
    name = file.name if ":2," in file.name else file.name + ":2,S"
    try:
        os.replace(file, maildir / "cur" / name)
    except FileNotFoundError:
        pass
