"""Entry point of the `esimdesk` console script.

Each sub-command lives in its own module of this package with a
`register(subparsers)` function; the handler it sets (`func`) takes the parsed
arguments and a CliContext and returns an exit code. DeskError anywhere becomes
one line on stderr and exit 2; nothing prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.errors import DeskError

if TYPE_CHECKING:
    from app.cli.context import CliContext

# each command word and the module whose register() adds it: only that one
# module is imported to run it (all of them ~70 ms of CPU, most of the
# console's start); `esimdesk -h` and an unknown word import them all
COMMANDS = {
    "db": "app.cli.db_cmd",
    "demo": "app.cli.demo_cmd",
    "staff": "app.cli.staff_cmd",
    "export": "app.cli.export_cmd",
    "sla": "app.cli.sla_cmd",
    "refund": "app.cli.refund_cmd",
    "orders": "app.cli.orders_cmd",
    "intake": "app.cli.intake_cmd",
    "outbox": "app.cli.outbox_cmd",
    "console": "app.cli.console_cmd",
    "backup": "app.cli.ops_cmd",
    "restore": "app.cli.ops_cmd",
    "retention": "app.cli.ops_cmd",
    "ticket": "app.cli.ticket_cmd",
    "dashboard": "app.cli.dashboard_cmd",
    "serve": "app.cli.dashboard_cmd",
    "search": "app.cli.search_cmd",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))
# the commands that open a screen on the terminal (None: no word, the console);
# keys typed while they start are kept as typed (app.start_keys)
SCREENS = (None, "console", "dashboard")
# the options before the command word that take a value (build_parser)
_VALUED = ("--db", "--config", "--as")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the sub-commands `argv` may need: only the named
    command's module when `argv` names one, none for the console (no command
    word), all of them without `argv`, for -h, or for a word it does not know
    (so the error lists the choices)."""
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
    for name in _modules_for(argv):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command not built into this install
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def _modules_for(argv: Sequence[str] | None) -> tuple[str, ...]:
    if argv is None or any(a in ("-h", "--help") for a in argv):
        return COMMAND_MODULES
    word = _command_word(argv)
    if word is None:
        return ()
    module = COMMANDS.get(word)
    return (module,) if module in COMMAND_MODULES else COMMAND_MODULES


def _command_word(argv: Sequence[str]) -> str | None:
    """The command word of `argv` (None: the console, which needs none)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """`argv` (default: the command line) parsed; a usage error exits 2 with one line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return build_parser(argv).parse_args(argv)


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
    # The start-up imports make no garbage worth a collection, and the
    # collector runs hundreds of times over them (~5 % of their CPU): off
    # until a command runs, or until the console's first screen is up
    # (app.console freezes what was imported, then turns it on).
    gc.disable()
    words = sys.argv[1:] if argv is None else argv
    if _command_word(words) in SCREENS and not any(a in ("-h", "--help") for a in words):
        from app.start_keys import hold_start_keys

        hold_start_keys()
    try:
        return _main(argv)
    finally:
        gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    from app.cli.context import CliContext

    args = parse_args(argv)
    if args.config:
        os.environ["ESIMDESK_CONFIG"] = args.config
    ctx = CliContext(args)
    try:
        if args.command is None:
            from app.cli.console_cmd import open_console

            return open_console(args, ctx)
        from app.cli.access import authorise

        authorise(args, ctx)
        gc.enable()
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
