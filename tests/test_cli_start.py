"""`esimdesk` imports only what the command it runs needs (the console's start)."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from app.cli.main import COMMAND_MODULES, COMMANDS, OneLineParser, build_parser, main


def _words(module: str) -> set[str]:
    parser = OneLineParser(prog="esimdesk")
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(module).register(sub)
    return set(sub.choices)


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_each_command_word_names_the_module_that_registers_it(module: str) -> None:
    assert _words(module) == {word for word, m in COMMANDS.items() if m == module}


def _imported_by(argv: list[str]) -> list[str]:
    code = (
        "import sys; from app.cli.main import COMMAND_MODULES, parse_args;"
        f"parse_args({argv!r}); print(' '.join(m for m in COMMAND_MODULES if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_console_imports_no_command_module_to_start() -> None:
    assert _imported_by(["--db", "sqlite:///x.sqlite", "--as", "olivia"]) == []


def test_a_command_imports_only_its_own_module() -> None:
    assert _imported_by(["--db", "sqlite:///x.sqlite", "backup", "/tmp/x"]) == ["app.cli.ops_cmd"]
    assert _imported_by(["--config", "ticket", "staff", "list"]) == ["app.cli.staff_cmd"]


def test_help_and_an_unknown_word_still_list_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    assert all(word in shown for word in COMMANDS)
    with pytest.raises(SystemExit) as exc:
        main(["--db", "sqlite:///x.sqlite", "bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err and "retention" in err and len(err.strip().splitlines()) == 1


def test_the_full_parser_still_knows_every_command() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)
