"""The desk's business calendar: working week, public holidays, closures, timezone.

Rules (the shared SLA clocks contract): a business day is a day of the working week
that is neither a public holiday of the configured country/subdivision (the
`holidays` package, offline) nor one of the desk's closure dates. Days are
counted in the desk's timezone. "Within N business days of T" is the N-th
business day strictly after T's local date; the deadline instant is the last
instant (23:59:59.999999) of that local day.

Speed: each calendar keeps, over a range of whole years that grows on demand
(a decade at a time), `cum[i]` = number of business days from the first day of
the range up to and including day i, and the list of business-day ordinals.
Adding N business days is then two list look-ups, never a day-by-day loop.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import InputError

if TYPE_CHECKING:
    from app.config import CalendarConfig, DeskConfig

END_OF_DAY = time(23, 59, 59, 999999)
_BLOCK_YEARS = 10  # the index grows by whole decades
_MIN_YEAR = 1900
_MAX_YEAR = 2199


def _load_zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"unknown timezone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InputError(f"unknown timezone {name!r}") from None


def _holiday_factory(country: str, subdiv: str | None) -> tuple[str | None, Callable[[Iterable[int]], set[date]]]:
    """Validate country/subdivision now; return (subdiv as the package spells
    it, a function years -> set of holiday dates). Both come from the kept
    copy when an earlier run read them (app.holiday_cache: the package itself
    costs ~90 ms to import)."""
    from app.holiday_cache import HolidayCopy

    copy = HolidayCopy(country, subdiv)
    known, spelled = copy.known_subdiv()
    subdiv = spelled if known else _checked_subdiv(country, subdiv)

    def from_package(years: list[int]) -> dict[int, set[date]]:
        """The dates the package gives for each year asked for alone (an
        observed holiday may fall in the year before or after)."""
        import holidays

        # some countries' data cover only some years; outside them the
        # package warns and has no holidays: counted as working days, quietly
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {y: set(holidays.country_holidays(country, subdiv=subdiv, years=[y]).keys()) for y in years}

    def for_years(years: Iterable[int]) -> set[date]:
        return set().union(*copy.dates(subdiv, years, from_package).values())

    return subdiv, for_years


def _checked_subdiv(country: str, subdiv: str | None) -> str | None:
    """`subdiv` as the package spells it, after checking both against it."""
    import holidays  # lazy: heavy import, only when no kept copy answers

    try:
        holidays.country_holidays(country, years=())
    except (NotImplementedError, KeyError, ValueError):
        raise InputError(f"unknown country {country!r}") from None
    if subdiv is None:
        return None
    for spelling in dict.fromkeys((subdiv, subdiv.upper())):
        try:
            holidays.country_holidays(country, subdiv=spelling, years=())
        except (NotImplementedError, KeyError, ValueError):
            continue
        return spelling
    raise InputError(f"unknown subdivision {subdiv!r} of {country}")


class BusinessCalendar:
    """One desk's business calendar. Immutable apart from its lazily grown index."""

    def __init__(
        self,
        country: str,
        subdiv: str | None = None,
        timezone: str = "Europe/Tallinn",
        workweek: Sequence[int] = (0, 1, 2, 3, 4),
        closures: Iterable[date] = (),
    ) -> None:
        if not isinstance(country, str) or not country.strip():
            raise InputError(f"unknown country {country!r}")
        self.country = country.strip().upper()
        self.subdiv = subdiv.strip() if isinstance(subdiv, str) and subdiv.strip() else None
        self.timezone = timezone
        self.tz = _load_zone(timezone)
        days = tuple(sorted(set(workweek)))
        if not days or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            raise InputError(f"working week must name days 0 (Monday) to 6 (Sunday), got {tuple(workweek)!r}")
        self.workweek = days
        closed = []
        for c in closures:
            if isinstance(c, datetime) or not isinstance(c, date):
                raise InputError(f"closure {c!r} is not a date")
            closed.append(c)
        self.closures: frozenset[date] = frozenset(closed)
        self.subdiv, self._holidays_for = _holiday_factory(self.country, self.subdiv)
        self._holiday_years: dict[int, set[date]] = {}
        # (base ordinal = Jan 1 of y0, cum, business-day ordinals, y0, y1): replaced
        # as one tuple, so a reader in another thread never sees a mix
        self._idx: tuple[int, list[int], list[int], int, int] = (0, [], [], 0, 0)
        self._lock = threading.Lock()
        self._eod: dict[int, datetime] = {}

    def __repr__(self) -> str:
        sub = f"-{self.subdiv}" if self.subdiv else ""
        return f"BusinessCalendar({self.country}{sub}, {self.timezone}, workweek={self.workweek}, closures={len(self.closures)})"

    # -- the index ---------------------------------------------------------
    def _build(self, y0: int, y1: int) -> None:
        y0 = max(_MIN_YEAR, y0 - y0 % _BLOCK_YEARS)
        y1 = min(_MAX_YEAR + 1, y1 + (-y1) % _BLOCK_YEARS)
        if self._idx[1]:
            y0, y1 = min(y0, self._idx[3]), max(y1, self._idx[4])
        # one year either side too: an observed holiday can fall in the neighbouring year
        missing = [y for y in range(y0 - 1, y1 + 1) if y not in self._holiday_years]
        if missing:
            found = self._holidays_for(missing)
            for y in missing:
                self._holiday_years[y] = set()
            for d in found:
                if d.year in self._holiday_years:
                    self._holiday_years[d.year].add(d)
        closed: set[int] = {d.toordinal() for d in self.closures}
        for y in range(y0, y1):
            closed.update(d.toordinal() for d in self._holiday_years[y])
        base = date(y0, 1, 1).toordinal()
        end = date(y1, 1, 1).toordinal()
        work = [False] * 7
        for weekday_number in self.workweek:
            work[weekday_number] = True
        cum: list[int] = []
        bdays: list[int] = []
        count = 0
        weekday = date(y0, 1, 1).weekday()
        for o in range(base, end):
            if work[weekday] and o not in closed:
                count += 1
                bdays.append(o)
            cum.append(count)
            weekday = (weekday + 1) % 7
        self._idx = (base, cum, bdays, y0, y1)

    def _ensure(self, lo_ordinal: int, hi_ordinal: int) -> None:
        """Make the index cover [lo, hi] (ordinals)."""
        base, cum = self._idx[0], self._idx[1]
        if cum and base <= lo_ordinal and hi_ordinal < base + len(cum):
            return
        lo_y = date.fromordinal(max(1, lo_ordinal)).year
        hi_y = date.fromordinal(max(1, hi_ordinal)).year
        if lo_y < _MIN_YEAR or hi_y > _MAX_YEAR:
            raise InputError(f"date outside the calendar's range {_MIN_YEAR}..{_MAX_YEAR}")
        with self._lock:
            self._build(lo_y, hi_y + 1)

    def _ensure_ahead(self, ordinal: int, n: int) -> None:
        """Cover `ordinal` and enough years after it to hold n more business days."""
        self._ensure(ordinal, ordinal)
        while True:
            base, cum, bdays, y0, y1 = self._idx
            if cum[ordinal - base] + n <= len(bdays):
                return
            per_year = max(1, len(bdays) // max(1, y1 - y0))
            if y1 > _MAX_YEAR:
                raise InputError(f"deadline beyond the calendar's range (year {_MAX_YEAR})")
            with self._lock:
                self._build(y0, min(_MAX_YEAR + 1, y1 + n // per_year + 1))

    # -- days --------------------------------------------------------------
    def local_date(self, dt: datetime | date) -> date:
        """The desk-local date of an instant (a naive datetime is taken as UTC)."""
        if isinstance(dt, datetime):
            if dt.tzinfo is None or dt.utcoffset() is None:
                dt = dt.replace(tzinfo=UTC)
            return dt.astimezone(self.tz).date()
        if isinstance(dt, date):
            return dt
        raise InputError(f"not a date or datetime: {dt!r}")

    def is_business_day(self, d: date | datetime) -> bool:
        o = self.local_date(d).toordinal()
        self._ensure(o, o)
        base, cum = self._idx[0], self._idx[1]
        i = o - base
        return cum[i] - (cum[i - 1] if i else 0) == 1

    def add_business_days(self, start: datetime | date, n: int) -> date:
        """The N-th business day strictly after start's local date (n=0: that date itself)."""
        if n < 0:
            raise InputError(f"business days must be 0 or more, got {n}")
        d = self.local_date(start)
        if n == 0:
            return d
        return date.fromordinal(self.nth_business_ordinal(d.toordinal(), n))

    def nth_business_ordinal(self, ordinal: int, n: int) -> int:
        """add_business_days on proleptic ordinals (for batch callers); n >= 1."""
        base, cum, bdays = self._idx[:3]
        i = ordinal - base
        if i < 0 or i >= len(cum) or cum[i] + n > len(bdays):
            self._ensure_ahead(ordinal, n)
            base, cum, bdays = self._idx[:3]
            i = ordinal - base
        return bdays[cum[i] + n - 1]

    def add_business_days_many(self, starts: Sequence[date], ns: Sequence[int]) -> list[date]:
        """Vectorised add_business_days over local dates (one bounds check for all)."""
        if len(starts) != len(ns):
            raise InputError("starts and ns differ in length")
        if not starts:
            return []
        ords = [d.toordinal() for d in starts]
        if min(ns) < 1:
            raise InputError("business days must be 1 or more in a batch")
        hi = max(ords)
        self._ensure(min(ords), hi)
        self._ensure_ahead(hi, max(ns))
        base, cum, bd = self._idx[:3]
        fo = date.fromordinal
        return [fo(bd[cum[o - base] + n - 1]) for o, n in zip(ords, ns, strict=True)]

    def business_days_between(self, a: datetime | date, b: datetime | date) -> int:
        """Business days strictly after a's local date up to and including b's
        (negative when b is before a)."""
        oa, ob = self.local_date(a).toordinal(), self.local_date(b).toordinal()
        self._ensure(min(oa, ob), max(oa, ob))
        base, cum = self._idx[0], self._idx[1]
        return cum[ob - base] - cum[oa - base]

    # -- instants ----------------------------------------------------------
    def end_of_local_day(self, d: date) -> datetime:
        """Last instant of local date d, aware in the desk tz (fold=1: the later
        of two ambiguous readings, so a fall-back at midnight is counted)."""
        o = d.toordinal()
        dt = self._eod.get(o)
        if dt is None:
            dt = datetime.combine(d, END_OF_DAY, tzinfo=self.tz)
            later = dt.replace(fold=1)
            if later.utcoffset() != dt.utcoffset():
                dt = later
            self._eod[o] = dt
        return dt

    def due_at(self, start: datetime | date, n: int) -> datetime:
        """Deadline instant of "within n business days of start"."""
        return self.end_of_local_day(self.add_business_days(start, n))

    def add_calendar_days(self, start: datetime, n: int) -> datetime:
        """Same local wall time n calendar days later (aware, desk tz)."""
        local = self._aware(start).astimezone(self.tz)
        wall = local.replace(tzinfo=None) + timedelta(days=n)
        # round-trip through UTC so a wall time inside a DST gap becomes a real one
        return wall.replace(tzinfo=self.tz).astimezone(UTC).astimezone(self.tz)

    def add_hours(self, start: datetime, h: float) -> datetime:
        """Elapsed hours (24 h is 24 real hours, even across a DST change)."""
        return (self._aware(start).astimezone(UTC) + timedelta(hours=h)).astimezone(self.tz)

    @staticmethod
    def _aware(dt: datetime) -> datetime:
        if not isinstance(dt, datetime):
            raise InputError(f"not a datetime: {dt!r}")
        return dt if dt.utcoffset() is not None else dt.replace(tzinfo=UTC)

    def with_closures(self, extra: Iterable[date]) -> BusinessCalendar:
        """A copy with more closure dates."""
        cal = BusinessCalendar(self.country, self.subdiv, self.timezone, self.workweek, self.closures | set(extra))
        cal._holiday_years = self._holiday_years  # holidays are the same; share them
        return cal

    def key(self) -> tuple[str, str | None, str, tuple[int, ...], tuple[date, ...]]:
        return (self.country, self.subdiv, self.timezone, self.workweek, tuple(sorted(self.closures)))


@lru_cache(maxsize=32)
def _cached(
    country: str, subdiv: str | None, timezone: str, workweek: tuple[int, ...], closures: tuple[date, ...]
) -> BusinessCalendar:
    return BusinessCalendar(country, subdiv, timezone, workweek, closures)


def calendar_from_config(cal_cfg: CalendarConfig) -> BusinessCalendar:
    """The calendar a CalendarConfig describes (cached per value)."""
    return _cached(
        str(cal_cfg.country).upper(),
        cal_cfg.subdiv or None,
        cal_cfg.timezone,
        tuple(sorted(set(cal_cfg.workweek))),
        tuple(sorted(set(cal_cfg.closures))),
    )


def desk_calendar(config: DeskConfig) -> BusinessCalendar:
    """The desk's calendar from its configuration."""
    return calendar_from_config(config.calendar)
