"""Who may run which sub-command: one table, checked at the CLI's edge before
any handler runs (so no command reads or writes desk data for an account
that is not staff with the right role).

Every sub-command (`"ticket show"`, `"outbox send"`...) has one entry:

- NO_DESK: never opens the desk's data (`sla due`, `refund decide`, `db current`);
- SELF: the handler checks on its own, more finely (staff add's bootstrap,
  backup/restore/retention for admins or root, export/dashboard for supervisors);
- STAFF: any active staff member (the services check the finer rules);
- a set of roles, optionally with SERVICE: those roles, plus the accounts
  listed in the config's `[service] accounts` (cron/systemd intake and outbox
  delivery run under such an account without a staff record).

Root may run anything (it can read the database file anyway). A brand-new desk
with no staff at all is open to the OS account, as `staff add` is (bootstrap:
the first command sets the desk up); once anyone is staff, everyone must be.
A sub-command missing from the table is treated as STAFF (a test lists every
sub-command so none is forgotten).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, cast

from app.errors import AccessDenied

if TYPE_CHECKING:
    from app.cli.context import CliContext


NO_DESK = "no-desk"
SELF = "self"
STAFF = "staff"
SERVICE = "service"

ADMINS = frozenset({"admin"})
LEADS = frozenset({"supervisor", "admin"})


def _ticket_action_commands() -> list[str]:
    from app.workflow.actions import cli_actions

    return [a.cli for a in cli_actions() if a.cli]


COMMAND_ACCESS: dict[str, str | frozenset[str]] = {
    "console": SELF,
    "dashboard": SELF,
    "serve": SELF,
    "db upgrade": ADMINS,
    "db current": NO_DESK,
    "demo": SELF,  # fills an empty desk only (refused once it has staff)
    "staff add": SELF,
    "staff list": STAFF,
    "export": SELF,
    "sla due": NO_DESK,
    "sla recompute": LEADS,
    "refund decide": NO_DESK,
    "refund evidence": SELF,
    "intake": LEADS | {SERVICE},
    "outbox send": LEADS | {SERVICE},
    "outbox list": STAFF,
    "outbox recall": STAFF,  # the service allows one's own mail, or a team lead's recall of anyone's
    "orders import": LEADS | {SERVICE},  # a shop's export fed by cron under the service account
    "orders lookup": STAFF,
    "orders show": STAFF,
    "search": STAFF,
    **{
        f"refund {action}": STAFF for action in ("acknowledge", "approve", "deny", "investigation")
    },  # roles checked by the service
    "backup": SELF,
    "restore": SELF,
    "retention": SELF,
    # the ticket actions' sub-commands (app.workflow.actions: the services check roles and state) and the rest
    **{f"ticket {action}": STAFF for action in ("show", *_ticket_action_commands(), "move", "set", "attachment")},
}


def command_path(args: argparse.Namespace) -> str:
    """`"ticket show"` for `esimdesk ticket show ...` (`"console"` for none)."""
    words = [args.command or "console"]
    for name, value in vars(args).items():
        if name.endswith("_command") and isinstance(value, str):
            words.append(value)
    return " ".join(words)


def subcommand_paths(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    """Every runnable sub-command of `parser` ("ticket show", "backup", ...)."""
    paths: list[str] = []
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix} {name}".strip()
                paths.extend(subcommand_paths(sub, path) or [path])
    return paths


def authorise(args: argparse.Namespace, ctx: CliContext) -> None:
    """Refuse (AccessDenied) before the handler runs unless the acting
    account may run this sub-command."""
    need = COMMAND_ACCESS.get(command_path(args), STAFF)
    if need in (NO_DESK, SELF) or os.getuid() == 0:
        return
    from app.identity import os_login

    login = os_login()
    if (
        isinstance(need, frozenset)
        and SERVICE in need
        and login in cast("list[str]", ctx.config.setting("service", "accounts"))
        and not getattr(args, "as_login", None)
    ):
        return
    from sqlalchemy import func, inspect, select

    from app.db import open_desk
    from app.identity import resolve_actor
    from models import Staff

    desk = open_desk(ctx.db_url, migrate=False, config=ctx.config)
    try:
        with desk.reader() as session:
            has_staff_table = inspect(session.connection()).has_table("staff")  # none yet: a brand-new database
            anyone = session.scalar(select(func.count()).select_from(Staff)) if has_staff_table else 0
            if not anyone:
                return  # bootstrap: a desk with no staff yet
            actor = resolve_actor(session, getattr(args, "as_login", None))
    finally:
        desk.dispose()
    if isinstance(need, frozenset) and actor.role not in need:
        allowed = sorted(need - {SERVICE})
        extra = " or a [service] account" if SERVICE in need else ""
        raise AccessDenied(
            f"{actor.login} ({actor.role}) may not run `esimdesk {command_path(args)}`: {', '.join(allowed)}{extra} only"
        )
