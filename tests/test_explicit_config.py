"""Configuration is passed into services (issue 18, point 5): the user's
config file is read once, at the edge (the CLI context, which also opens the
console and the wall with it); no domain module reads it behind its caller's
back. Services given no config use the built-in defaults, never the file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# where the file may be read: where it is defined, and the one edge that loads it
EDGES = {"app/config.py", "app/cli/context.py"}
READERS = {"load_config", "config_path"}


def readers_of_the_config_file(source: str) -> list[int]:
    """Lines that import or call load_config / config_path."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and any(a.name in READERS for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name in READERS:
                lines.append(node.lineno)
    return lines


def test_no_domain_module_reads_the_config_file():
    found = []
    for folder in ("app", "models", "screens", "widgets"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in EDGES:
                continue
            found += [f"{rel}:{n}" for n in readers_of_the_config_file(path.read_text(encoding="utf-8"))]
    assert found == []


def test_the_scan_would_catch_a_hidden_read():
    assert readers_of_the_config_file(
        "def f(config=None):\n    from app.config import load_config\n    return config or load_config()\n"
    ) == [2, 3]
    assert readers_of_the_config_file("import app.config as c\nx = c.load_config()\n") == [2]
    assert readers_of_the_config_file("from app.config import DeskConfig\nx = DeskConfig()\n") == []


@pytest.fixture
def user_config(tmp_path, monkeypatch):
    """A user config file that would change a service's behaviour if read."""
    cfg = tmp_path / "config.toml"
    cfg.write_text('[calendar]\ntimezone = "America/New_York"\ncountry = "US"\n[mail]\nmax_message_bytes = 2048\n')
    monkeypatch.setenv("ESIMDESK_CONFIG", str(cfg))
    return cfg


def test_ingest_without_config_uses_the_built_in_defaults_not_the_users_file(desk, user_config, tmp_path):
    from app.mail.ingest import ingest_paths

    eml = tmp_path / "big.eml"
    eml.write_text("From: a@example.com\nTo: support@esimium.com\nSubject: Help\n\n" + "x" * 4000 + "\n")
    summary = ingest_paths(desk, [eml])  # the file's 2048-byte limit would quarantine it
    assert summary.count("quarantined") == 0


def test_the_cli_context_is_where_the_file_is_read(user_config):
    import argparse

    from app.cli.context import CliContext

    ctx = CliContext(argparse.Namespace())
    assert ctx.config.calendar.timezone == "America/New_York" and ctx.config.mail.max_message_bytes == 2048
