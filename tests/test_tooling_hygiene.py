"""Size limits and citations (issue 18, point 8).

No module over 500 lines and no function over 80 lines without a reason
written beside it: the current offenders are listed below with their reason
and their size today. The lists can only shrink: a new offender fails, an
offender that grows fails, and one that is back under the limit fails until
its entry is removed. Sizes are measured on the code as `ruff format` writes
it (a formatted copy), so formatting the tree changes no size.

Docstrings and comments cite only what is in the repository: the written
contracts live outside it (quote them as "the shared ... contract").
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE_DIRS = ("app", "models", "screens", "widgets", "bench")
MODULE_LIMIT = 500
FUNCTION_LIMIT = 80

# path -> (lines today, as formatted; why it may be longer)
LONG_MODULES: dict[str, tuple[int, str]] = {
    "app/clocks.py": (
        553,
        "the clock rules in one place (#18 point 1): each rule's Python form (one ticket) beside its SQL "
        "form (many), and the typed shape of the rows they read; split, a rule's two forms would drift apart",
    ),
    "app/mail/parse.py": (
        564,
        "the one parser of hostile mail (MIME walk, headers, HTML to text, delivery "
        "reports): every defence against a bad message in one place",
    ),
    "screens/refund_wizard.py": (
        803,
        "one Screen class: the refund wizard's pages, keys and confirmations (Textual binds keys and "
        "messages to the class); its reads and rules are in app/ (refund_case_read, refunds); a split by "
        "page would need a screen per page, a change of how the wizard is used",
    ),
    "screens/ticket_detail.py": (
        605,
        "one Screen class: the ticket screen's keys, prompts, previews, take-back and related panel "
        "(Textual binds keys and messages to the class); its actions come from app/workflow/actions.py "
        "and its reads from app/ticket_view.py, and the service runner is its own mixin",
    ),
}

# "path::function" -> (lines today, as formatted; why it may be longer)
LONG_FUNCTIONS: dict[str, tuple[int, str]] = {
    "app/migrations/versions/0001_initial_schema.py::upgrade": (
        290,
        "a migration is a frozen record of the schema; it is never edited",
    ),
    "bench/calendar_bench.py::bench_deadlines": (82, "a benchmark's cases and timings side by side"),
    "bench/console_bench.py::child_console": (
        125,
        "the benchmark's console driven in a child process, one timed step after another",
    ),
    "bench/console_bench.py::main": (108, "the console benchmark's runs and report in order"),
    "bench/console_bench.py::run": (100, "the console benchmark's engines and scales, built and reported in order"),
}

# Citations of what is not in the repository: none allowed (#18 point 8).
CITATION_ALLOWED: set[str] = set()


def _code_files() -> list[Path]:
    return sorted(p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py"))


def _rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def formatted_copy(into: Path) -> Path:
    """The code directories as `ruff format` (with this project's settings) writes them."""
    for d in CODE_DIRS:
        shutil.copytree(ROOT / d, into / d, ignore=shutil.ignore_patterns("__pycache__", ".cache"))
    shutil.copy(ROOT / "pyproject.toml", into / "pyproject.toml")
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", "."], cwd=into, check=True)
    return into


def measure(root: Path = ROOT) -> tuple[dict[str, int], dict[str, int]]:
    """(module -> lines, "module::function" -> lines) over the limits."""
    modules: dict[str, int] = {}
    functions: dict[str, int] = {}
    for path in sorted(p for d in CODE_DIRS for p in (root / d).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        name = path.relative_to(root).as_posix()
        if lines > MODULE_LIMIT:
            modules[name] = lines
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > FUNCTION_LIMIT:
                    functions[f"{name}::{node.name}"] = length
    return modules, functions


def _over(found: dict[str, int], allowed: dict[str, tuple[int, str]], limit: int) -> list[str]:
    problems = []
    for name, size in sorted(found.items()):
        if name not in allowed:
            problems.append(f"{name}: {size} lines (limit {limit}); split it, or add it with a reason")
        elif size > allowed[name][0]:
            problems.append(f"{name}: grew to {size} lines (allowed {allowed[name][0]}); it may only shrink")
    for name in sorted(set(allowed) - set(found)):
        problems.append(f"{name}: now within {limit} lines; remove its entry")
    return problems


def test_no_module_or_function_is_over_the_limit_without_a_reason(tmp_path):
    modules, functions = measure(formatted_copy(tmp_path))
    problems = _over(modules, LONG_MODULES, MODULE_LIMIT) + _over(functions, LONG_FUNCTIONS, FUNCTION_LIMIT)
    assert not problems, "\n".join(problems)
    assert all(reason.strip() for _, reason in [*LONG_MODULES.values(), *LONG_FUNCTIONS.values()])


def test_the_size_check_would_catch_a_new_long_function():
    """The check itself: a function one line over the limit is reported."""
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LIMIT))
    tree = ast.parse(f"def f():\n{body}\n")
    fn = tree.body[0]
    assert isinstance(fn, ast.FunctionDef) and fn.end_lineno is not None
    assert fn.end_lineno - fn.lineno + 1 == FUNCTION_LIMIT + 1
    assert _over({"x.py::f": FUNCTION_LIMIT + 1}, {}, FUNCTION_LIMIT)
    assert _over({"x.py::f": 90}, {"x.py::f": (85, "why")}, FUNCTION_LIMIT)
    assert _over({}, {"x.py::f": (85, "why")}, FUNCTION_LIMIT)


_MISSING_CONTRACT = re.compile(r"contracts/[\w-]+\.md")
_TEST_PATH = re.compile(r"tests/(test_\w+\.py)")


def test_citations_name_only_what_is_in_the_repository():
    problems = []
    for path in _code_files() + sorted((ROOT / "tests").glob("*.py")):
        rel = _rel(path)
        text = path.read_text(encoding="utf-8")
        if rel not in CITATION_ALLOWED and _MISSING_CONTRACT.search(text):
            problems.append(f"{rel} cites {_MISSING_CONTRACT.search(text).group(0)}, which is not in the repository")
        for m in _TEST_PATH.finditer(text):
            if not (ROOT / "tests" / m.group(1)).exists():
                problems.append(f"{rel} cites tests/{m.group(1)}, which does not exist")
    assert not problems, "\n".join(problems)


if __name__ == "__main__":  # the measurements, to refresh the lists above
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        found_modules, found_functions = measure(formatted_copy(Path(tmp)))
    for name, size in sorted({**found_modules, **found_functions}.items()):
        print(f"{size:5d}  {name}")
