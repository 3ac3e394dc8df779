"""Textual's private parts the console relies on are listed in one module;
this fails as soon as an upgrade moves one of them (re-check the console
speed and type-ahead tests then)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from widgets import textual_compat

ROOT = Path(__file__).resolve().parents[1]


def test_every_private_part_is_still_there():
    assert textual_compat.problems() == []


def test_the_pinned_textual_is_the_checked_one():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"textual=={textual_compat.TESTED_VERSION}" in deps


def test_no_other_module_imports_textual_internals():
    """Only the compatibility module imports Textual's private modules."""
    offenders = []
    for folder in ("app", "screens", "widgets"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "textual_compat.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else ([a.name for a in node.names] if isinstance(node, ast.Import) else [])
                )
                offenders += [
                    f"{path.relative_to(ROOT)}: {n}"
                    for n in names
                    if n.startswith("textual") and any(p.startswith("_") for p in n.split("."))
                ]
    assert offenders == []
