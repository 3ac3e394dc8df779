"""`esimdesk db upgrade|current`: schema migrations."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("db", help="database schema: upgrade, current")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = dsub.add_parser("upgrade", help="apply schema migrations")
    up.set_defaults(func=upgrade)
    cur = dsub.add_parser("current", help="show the schema revision")
    cur.set_defaults(func=current)


def upgrade(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.db import open_desk
    from app.migrations_runner import upgrade as run_upgrade

    desk = open_desk(ctx.db_url, migrate=False)
    try:
        before, after = run_upgrade(desk.engine)
    finally:
        desk.dispose()
    print(json.dumps({"from": before, "to": after}))
    return 0


def current(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.db import open_desk
    from app.migrations_runner import current_revision, head_revision

    desk = open_desk(ctx.db_url, migrate=False)
    try:
        print(json.dumps({"current": current_revision(desk.engine), "head": head_revision()}))
    finally:
        desk.dispose()
    return 0
