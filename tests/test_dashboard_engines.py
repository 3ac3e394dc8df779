"""The wall display's SQL gives the same figures on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import fields

from app.business_calendar import BusinessCalendar
from app.dashboard_data import snapshot
from app.db import open_desk
from app.demo import build_demo
from conftest import FROZEN_NOW
from pg_fixtures import engine_url  # noqa: F401  (fixture)

CAL = BusinessCalendar("EE", None, "Europe/Tallinn")


def test_same_figures_on_both_engines(engine_url, demo_desk):
    desk = open_desk(engine_url)
    try:
        with desk.session() as s:
            build_demo(s, 400, 7, FROZEN_NOW, CAL, login=_login(demo_desk))
        with desk.reader() as s:
            got = snapshot(s, FROZEN_NOW, CAL)
    finally:
        desk.dispose()
    with demo_desk.reader() as s:
        want = snapshot(s, FROZEN_NOW, CAL)
    for f in fields(want):
        if f.name != "timings":
            assert getattr(got, f.name) == getattr(want, f.name), f.name
    assert got.breached_now > 0 and got.compliance[0].month.total > 0


def _login(desk) -> str:
    from app.identity import os_login

    return os_login()
