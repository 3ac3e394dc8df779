"""`esimdesk backup PATH`, `esimdesk restore PATH [--force]`,
`esimdesk retention [--older-than DAYS] [--apply]` (admins, or root)."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from app.cli.numbers import int_in

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers


def register(sub: Subparsers) -> None:
    b = sub.add_parser("backup", help="write a consistent copy of the live database to PATH")
    b.add_argument("path", metavar="PATH")
    b.set_defaults(func=backup_cmd)
    r = sub.add_parser("restore", help="restore a backup made by `esimdesk backup` into the database")
    r.add_argument("path", metavar="PATH")
    r.add_argument("--force", action="store_true", help="replace a database that already holds a desk")
    r.set_defaults(func=restore_cmd)
    t = sub.add_parser(
        "retention", help="anonymise personal data of customers whose tickets closed long ago (dry run unless --apply)"
    )
    t.add_argument(
        "--older-than",
        type=int_in(1, 36500, "a number of days"),
        metavar="DAYS",
        help="retention period in days (default: config retention.days)",
    )
    t.add_argument("--apply", action="store_true", help="make the changes (default: only list them)")
    t.set_defaults(func=retention_cmd)


def _authorise(ctx: CliContext, permission: str, migrate: bool = True) -> str | None:
    """The acting login after checking `permission`; root may always.

    With `migrate=False` the schema version is not checked, so a desk can be
    backed up before (or after a failed) `esimdesk db upgrade`.
    """
    if os.getuid() == 0:
        return "root"
    if migrate:
        actor = ctx.actor()
    else:
        from app.db import open_desk
        from app.identity import resolve_actor

        desk = open_desk(ctx.db_url, migrate=False)
        try:
            with desk.reader() as session:
                actor = resolve_actor(session, getattr(ctx.args, "as_login", None))
        finally:
            desk.dispose()
    actor.require(permission)
    return actor.login


def backup_cmd(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.backup import backup

    _authorise(ctx, "backup", migrate=False)
    print(json.dumps(backup(ctx.db_url, args.path)))
    return 0


def restore_cmd(args: argparse.Namespace, ctx: CliContext) -> int:
    from pathlib import Path

    from app.backup import backup_format, restore, target_state
    from app.errors import InputError

    url = ctx.db_url
    state = target_state(url)
    if state == "desk" and args.force:  # replacing an existing desk: its admins (or root) only
        _authorise(ctx, "backup")
    path = Path(args.path).expanduser()
    if not path.is_file():
        raise InputError(f"no backup file at {path}")
    backup_format(path)  # refuses a file that is not a backup before anything changes
    if state != "empty" and not args.force:
        what = "is damaged" if state == "damaged" else "already holds a desk"
        raise InputError(f"the target database {what}; pass --force to replace it")
    print(json.dumps(restore(url, args.path, force=args.force)))
    return 0


def retention_cmd(args: argparse.Namespace, ctx: CliContext) -> int:
    from app import retention
    from app.tickets import utcnow

    login = _authorise(ctx, "retention")
    days = args.older_than if args.older_than is not None else ctx.config.retention_days
    now = utcnow()
    if args.apply:  # short transactions: consoles keep working meanwhile
        result = retention.apply_in_batches(ctx.desk, days, now, actor=None if login == "root" else login)
    else:
        with ctx.desk.reader() as session:
            result = retention.plan(session, days, now)
    print(json.dumps(result.as_dict()))
    return 0
