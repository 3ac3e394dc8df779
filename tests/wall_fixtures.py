"""The wall tests' desk: the 400-ticket demo (seed 7, FROZEN_NOW) built on the
suite's engine (SQLite, or PostgreSQL in the suite's second pass)."""

from __future__ import annotations

import pytest

from app.business_calendar import BusinessCalendar
from app.db import open_desk
from app.demo import build_demo
from conftest import FROZEN_NOW
from pg_fixtures import engine_url  # noqa: F401  (fixture)

CAL = BusinessCalendar("EE", None, "Europe/Tallinn")


@pytest.fixture
def built(engine_url):
    desk = open_desk(engine_url)
    with desk.session() as s:
        build_demo(s, 400, 7, FROZEN_NOW, CAL, login="olivia")
    yield desk
    desk.dispose()
