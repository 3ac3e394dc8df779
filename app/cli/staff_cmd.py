"""`esimdesk staff add|list`."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from models.enums import Role

if TYPE_CHECKING:
    from app.cli.context import CliContext, Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("staff", help="staff members: add, list")
    ssub = p.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    add = ssub.add_parser("add", help="register a staff member")
    add.add_argument("--login", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--name")
    add.add_argument("--email")
    add.set_defaults(func=add_cmd)
    ls = ssub.add_parser("list", help="list staff members as JSON lines")
    ls.set_defaults(func=list_cmd)


def add_cmd(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.staff import add_staff
    from app.tickets import utcnow

    with ctx.desk.session() as session:
        staff = add_staff(session, args.login, args.role, args.name, utcnow(), args.email, args.as_login)
        out = {"login": staff.login, "name": staff.name, "role": staff.role}
    print(json.dumps(out))
    return 0


def list_cmd(args: argparse.Namespace, ctx: CliContext) -> int:
    from app.staff import list_staff

    with ctx.desk.reader() as session:
        ctx.actor()
        for s in list_staff(session):
            print(json.dumps({"login": s.login, "name": s.name, "role": s.role, "active": s.active}))
    return 0
