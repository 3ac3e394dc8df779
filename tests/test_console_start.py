"""The console's start styles its first screen once: the stylesheet is parsed
once (the queue's CSS is read with the app's), and the queue's widgets are not
restyled when it is first shown or first resized (the start figure is in
bench/console_bench.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from textual.css import stylesheet as stylesheet_module
from textual.css.stylesheet import Stylesheet

from console_helpers import make_app, settle


@pytest.mark.parametrize(("size", "width_class"), [((160, 50), "-wide"), ((80, 24), "-narrow")])
async def test_the_first_screen_is_styled_once(demo_desk, monkeypatch, size, width_class):
    parsed: Counter[object] = Counter()
    styled: Counter[str] = Counter()
    parse, apply = stylesheet_module.parse, Stylesheet.apply

    def counted_parse(scope, css, read_from, *args, **kwargs):
        parsed[read_from] += 1
        return parse(scope, css, read_from, *args, **kwargs)

    def counted_apply(self, node, *args, **kwargs):
        if node.id:
            styled[node.id] += 1
        return apply(self, node, *args, **kwargs)

    monkeypatch.setattr(stylesheet_module, "parse", counted_parse)
    monkeypatch.setattr(Stylesheet, "apply", counted_apply)
    app = make_app(demo_desk)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.table.cache  # the first rows are in
        # each of the console's CSS files parsed once (the queue's, loaded with the screen, parsed them all again)
        ours = {where[0].rsplit("/", 1)[-1]: n for where, n in parsed.items() if where[0].endswith(".tcss")}
        assert "queue.tcss" in ours and "console.tcss" in ours and set(ours.values()) == {1}, ours
        assert screen.has_class(width_class)  # the breakpoint class its first resize gives it
        # each widget styled as it mounted, once; the table once more as it took the focus
        # (the screen's first resume and its breakpoint class restyled them all)
        assert styled.pop("queue-table") == 2
        assert set(styled.values()) == {1}, styled
        assert screen.query_one("#queue-filter-label").styles.width.value == 2  # the queue's own CSS applies


def test_the_models_validators_are_built_when_first_used() -> None:
    """Importing the models builds no pydantic validator (~10 ms of every start); the
    first model_dump builds that model's, and dumps as before."""
    code = (
        "import models, sqlmodel; models.load_all();"
        "tables = [m for m in sqlmodel.SQLModel.__subclasses__() if m.__module__.startswith('models.')];"
        "print(len(tables), sum(m.__pydantic_complete__ for m in tables));"
        "d = models.Staff(login='ann', name='Ann', role='agent').model_dump();"
        "print(d['login'], d['role'], models.Staff.__pydantic_complete__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) >= 10 and out[1] == "0"
    assert out[2:] == ["ann", "agent", "True"]


def test_the_console_starts_without_the_other_engine_or_the_tables_it_does_not_read(demo_url) -> None:
    """The console's real start (`esimdesk --db URL --as olivia`) on SQLite, at its first rows: no
    PostgreSQL dialect imported (~20 ms), and no table its first screen does not read (models/__init__.py)."""
    code = f"""
import asyncio, json, sys
from app.cli.console_cmd import console_app
from app.cli.context import CliContext
from app.cli.main import parse_args

app = console_app(CliContext(parse_args(["--db", {demo_url!r}, "--as", "olivia"])))

async def main():
    async with app.run_test(size=(160, 50)) as pilot:
        while not (hasattr(app.screen, "table") and app.screen.table.loaded_once and app.screen.table.cache):
            await pilot.pause(0.01)
        from sqlmodel import SQLModel
        print(json.dumps({{"tables": sorted(SQLModel.metadata.tables), "modules": sorted(sys.modules)}}))

asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert "ticket" in got["tables"] and "sqlalchemy.dialects.sqlite" in got["modules"]
    assert not [m for m in got["modules"] if m.startswith("sqlalchemy.dialects.postgresql")]
    assert not {"draft", "quarantine", "refund_case", "wall_daily", "wall_tally"} & set(got["tables"])
