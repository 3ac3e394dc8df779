"""The public holidays a calendar counts are kept on disk between runs
(app.holiday_cache): the same dates as the package, without importing it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date

import holidays
import pytest

from app.business_calendar import BusinessCalendar
from app.errors import InputError
from app.holiday_cache import HolidayCopy


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ESIMDESK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _package(country: str, subdiv: str | None, years: range) -> set[date]:
    return set(holidays.country_holidays(country, subdiv=subdiv, years=list(years)).keys())


@pytest.mark.parametrize(("country", "subdiv"), [("EE", None), ("US", None), ("DE", "by")])
def test_kept_dates_are_the_packages_and_a_second_calendar_reads_them_from_the_copy(cache, country, subdiv):
    first = BusinessCalendar(country, subdiv)
    years = range(2019, 2041)
    assert first._holidays_for(years) == _package(country, first.subdiv, years)
    files = list(cache.iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600  # private
    again = BusinessCalendar(country, subdiv)
    assert again.subdiv == first.subdiv  # "by" spelled as the package spells it, "BY"
    assert again._holidays_for(years) == _package(country, first.subdiv, years)
    # an observed holiday that falls in the year before (US: 2021-12-31 for 1 January 2022)
    assert BusinessCalendar(country, subdiv).add_business_days(date(2022, 12, 20), 30) == first.add_business_days(
        date(2022, 12, 20), 30
    )


def test_a_process_with_a_kept_copy_does_not_import_the_package(cache):
    code = (
        "import sys; from datetime import date; from app.business_calendar import BusinessCalendar;"
        "c = BusinessCalendar('EE'); print(c.add_business_days(date(2026, 12, 23), 3), 'holidays' in sys.modules)"
    )
    env = {**os.environ, "ESIMDESK_CACHE_DIR": str(cache)}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert first.stdout.split() == ["2026-12-30", "True"]  # 24-26 December are Estonian holidays
    assert second.stdout.split() == ["2026-12-30", "False"]


@pytest.mark.parametrize(
    "damage",
    ["{not json", json.dumps({"country": "EE", "asked": None, "subdiv": None, "years": {"2026": ["nope"]}}), "[]", ""],
)
def test_a_damaged_copy_is_read_from_the_package_again(cache, damage):
    BusinessCalendar("EE")._holidays_for(range(2026, 2027))
    (path,) = cache.iterdir()
    path.write_text(damage)
    cal = BusinessCalendar("EE")
    assert cal._holidays_for(range(2024, 2029)) == _package("EE", None, range(2024, 2029))
    assert "2026-12-24" in json.loads(path.read_text())["years"]["2026"]  # rewritten whole


def test_a_copy_that_cannot_be_written_is_not_an_error(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("ESIMDESK_CACHE_DIR", str(blocked / "cache"))  # a directory under a file
    cal = BusinessCalendar("EE")
    assert cal.add_business_days(date(2026, 12, 23), 3) == date(2026, 12, 30)


def test_an_unknown_country_or_subdivision_is_still_refused_and_nothing_is_kept(cache):
    with pytest.raises(InputError, match="unknown country 'XX'"):
        BusinessCalendar("XX")
    with pytest.raises(InputError, match="unknown subdivision 'ZZ' of DE"):
        BusinessCalendar("DE", "ZZ")
    assert not cache.exists() or not list(cache.iterdir())


def test_a_new_release_of_the_package_is_a_new_copy(cache, monkeypatch):
    BusinessCalendar("EE")._holidays_for(range(2026, 2027))
    monkeypatch.setattr("app.holiday_cache._package_version", lambda: "9999.1")
    assert HolidayCopy("EE", None).known_subdiv() == (False, None)
    BusinessCalendar("EE")._holidays_for(range(2026, 2027))
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [f"holidays-{holidays.__version__}-EE-.json", "holidays-9999.1-EE-.json"]
    )
