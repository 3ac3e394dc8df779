"""Entry point of the `esimdesk` console script.

Each sub-command lives in its own module of this package with a
`register(subparsers)` function; the handler it sets (`func`) takes the parsed
arguments and a CliContext and returns an exit code. DeskError anywhere becomes
one line on stderr and exit 2; nothing prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.errors import DeskError

if TYPE_CHECKING:
    from app.cli.context import CliContext

COMMAND_MODULES = (
    "app.cli.db_cmd",
    "app.cli.demo_cmd",
    "app.cli.staff_cmd",
    "app.cli.export_cmd",
    "app.cli.sla_cmd",
    "app.cli.refund_cmd",
    "app.cli.orders_cmd",
    "app.cli.intake_cmd",
    "app.cli.outbox_cmd",
    "app.cli.console_cmd",
    "app.cli.ops_cmd",
    "app.cli.ticket_cmd",
    "app.cli.dashboard_cmd",
    "app.cli.search_cmd",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="esimdesk", description="eSIM support desk console and tools")
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy database URL (default: $ESIMDESK_DB or an SQLite file in the user data dir)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="desk config file (default: $ESIMDESK_CONFIG or the user config dir)"
    )
    parser.add_argument(
        "--as", dest="as_login", metavar="LOGIN", help="act as another staff member (demo databases only)"
    )
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command not built into this install
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def _fail(exc: BaseException, args: argparse.Namespace, ctx: CliContext) -> int:
    """Any failure at the edge: one line on stderr, exit 2 (the traceback too
    only with ESIMDESK_DEBUG=1)."""
    from app.failures import one_line

    if os.environ.get("ESIMDESK_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    _say(one_line(exc, ctx.safe_db_url(), getattr(args, "reference", None)))
    return getattr(exc, "exit_code", 2)


def _say(line: str, limit: int = 400) -> None:
    """One line on stderr, cut in the middle when a long input is echoed in it."""
    if len(line) > limit:
        line = line[: limit - 80] + " … " + line[-77:]
    print(f"esimdesk: {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    from app.cli.context import CliContext

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config:
        os.environ["ESIMDESK_CONFIG"] = args.config
    ctx = CliContext(args)
    try:
        if args.command is None:
            from app.cli.console_cmd import open_console

            return open_console(args, ctx)
        from app.cli.access import authorise

        authorise(args, ctx)
        return int(args.func(args, ctx) or 0)
    except DeskError as exc:
        _say(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. `esimdesk export | head`): not an error.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return 0
    except Exception as exc:  # noqa: BLE001 - the edge: never a traceback
        return _fail(exc, args, ctx)
    finally:
        try:
            ctx.close()
        except Exception:  # noqa: BLE001 - closing a broken database must not hide the answer
            pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
