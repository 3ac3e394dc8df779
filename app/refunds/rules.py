"""The desk's own choices where a policy leaves one (issue 17).

- `timezone`: the desk's time zone; refund windows worded in days ("within 7
  calendar days of the original purchase date", "within 30 days", "within 12
  days of receiving the invoice") are counted in calendar dates there: bought
  on 1 March, a 7-day window runs through 8 March, a 30-day one through 31 March.
- `esimium_preactivation`: eSIMium 2.1 (a cancellation before activation within
  7 days is refunded) and 3.2 ("no longer needed", "user mistakes", device
  incompatibility, incorrect installation: no refund) disagree before
  activation. "refund" applies 2.1 as it reads (3.2 then governs activated
  eSIMs); "case_by_case" sends such a pre-activation request without a
  seller-side ground to individual review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import InputError

if TYPE_CHECKING:
    from app.config import DeskConfig

PREACTIVATION_RULES = ("refund", "case_by_case")


@dataclass(frozen=True)
class Rules:
    timezone: str = "Europe/Tallinn"
    esimium_preactivation: str = "refund"

    def __post_init__(self) -> None:
        if self.esimium_preactivation not in PREACTIVATION_RULES:
            raise InputError(
                f"esimium_preactivation must be one of {', '.join(PREACTIVATION_RULES)}, "
                f"got {self.esimium_preactivation!r}"
            )
        _zone(self.timezone)

    def local_date(self, dt: datetime) -> date:
        return dt.astimezone(_zone(self.timezone)).date()

    def within_days(self, start: datetime, end: datetime, days: int) -> bool:
        """`end` falls on or before the local calendar date `days` after
        `start`'s local date (an end before the start is not "within")."""
        a, b = self.local_date(start), self.local_date(end)
        return a <= b and (b - a).days <= days

    def last_day(self, start: datetime, days: int) -> date:
        return date.fromordinal(self.local_date(start).toordinal() + days)


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r}") from None


DEFAULT_RULES = Rules()


def rules_from_config(config: DeskConfig | None) -> Rules:
    """The desk's rules from its configuration ([calendar] timezone, [refunds])."""
    if config is None:
        return DEFAULT_RULES
    return Rules(timezone=config.calendar.timezone, esimium_preactivation=config.refunds.esimium_preactivation)
