"""Domain code never loads Textual or Rich (Harlequin's import-hygiene idea)."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The only app/ modules allowed to import Textual: the App classes and the CLI entry that opens them.
UI_MODULES = {"app.console", "app.console_keys", "app.wall", "app.cli.console_cmd", "app.cli.dashboard_cmd"}


def domain_modules() -> list[str]:
    names = ["models"]
    for pkg in ("models", "app"):
        for info in pkgutil.walk_packages([str(ROOT / pkg)], prefix=f"{pkg}."):
            if info.name.startswith("app.migrations") or info.name in UI_MODULES:
                continue
            names.append(info.name)
    return sorted(names)


def test_domain_imports_without_textual_or_rich():
    modules = domain_modules()
    assert "app.tickets" in modules and "models.ticket" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"domain code loaded: {out.stdout.strip()}"


def test_the_check_would_catch_textual():
    """The probe itself works: importing textual is seen."""
    code = "import textual.app, sys; print(any(m.startswith('textual') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True"


SQL_IN_UI = re.compile(r"\b(sqlalchemy|sqlmodel)\b|\bselect\(|session\.(get|exec|execute|scalars?)\(")


def test_screens_and_widgets_hold_no_sql():
    """Screens and widgets ask services and read models (app/ticket_view.py,
    app/workflow/review_queue.py, app/queue_source.py); they never query."""
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("screens", "widgets")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if SQL_IN_UI.search(line)
    ]
    assert found == []


TRANSACTION_IN_UI = re.compile(r"\.(reader|session|batch|grouped)\(\)")
# the one helper that runs a service from a screen (#18 point 6) opens the service's transaction
RUNS_SERVICES = {"screens/service_worker.py"}


def test_screens_and_widgets_open_no_transaction():
    """Screens and widgets read through `Desk.read(fn, ...)` and write
    through services: they never hold a session (#18 point 3)."""
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("screens", "widgets")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in RUNS_SERVICES
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if TRANSACTION_IN_UI.search(line)
    ]
    assert found == []
    assert TRANSACTION_IN_UI.search("with self.ctx.desk.reader() as s:")


def test_the_sql_check_would_catch_a_query():
    assert SQL_IN_UI.search("    rows = s.scalars(select(Ticket))") and SQL_IN_UI.search(
        "from sqlalchemy import select"
    )
    assert not SQL_IN_UI.search("with self.app.desk.reader() as s:")
