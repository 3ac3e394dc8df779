"""Public holiday dates kept on disk between runs.

The `holidays` package imports all of its 250 countries to give one: about
90 ms of CPU in every process that builds a business calendar (the console's
start, each `esimdesk` command, each intake run). The dates it gives for a
country, subdivision and year never change for one release of the package, so
they are read from it once and kept in a private file named for the package's
version: an upgrade of the package is a new file, read from the package again.

The file is only a copy: one that is missing, damaged or unwritable is read
from the package again (and rewritten when it can be), never an error.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

# read from the package: years -> {year: the dates it gives when asked for that year}
Reader = Callable[[list[int]], dict[int, set[date]]]


def cache_dir() -> Path:
    """Where the copies are kept: $ESIMDESK_CACHE_DIR, else the user's cache directory."""
    chosen = os.environ.get("ESIMDESK_CACHE_DIR")
    if chosen:
        return Path(chosen)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("esimdesk"))


def _package_version() -> str | None:
    try:
        return metadata.version("holidays")
    except metadata.PackageNotFoundError:
        return None


class HolidayCopy:
    """The kept dates of one country and subdivision (as asked for in the config)."""

    def __init__(self, country: str, subdiv: str | None) -> None:
        version = _package_version()
        name = f"holidays-{version}-{country}-{subdiv or ''}.json"
        self.path = cache_dir() / name if version and _safe(name) else None
        self.country, self.asked = country, subdiv
        self._data = self._read()

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            years = {int(y): {date.fromisoformat(d) for d in ds} for y, ds in data["years"].items()}
            if data["country"] != self.country or data["asked"] != self.asked:
                return {}
            subdiv = data["subdiv"]
            if subdiv is not None and not isinstance(subdiv, str):
                return {}
            return {"subdiv": subdiv, "years": years}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # missing or damaged: read from the package again

    def known_subdiv(self) -> tuple[bool, str | None]:
        """(True, the subdivision as the package spells it) when an earlier
        run checked this country and subdivision against the package."""
        if "subdiv" in self._data:
            return True, self._data["subdiv"]
        return False, None

    def dates(self, subdiv: str | None, years: Iterable[int], read: Reader) -> dict[int, set[date]]:
        """Each year's holiday dates: from the copy, the missing years from
        `read` (the package), added to the copy."""
        wanted = list(years)
        kept: dict[int, set[date]] = self._data.get("years", {})
        missing = [y for y in wanted if y not in kept]
        if missing:
            found = read(missing)
            kept = {**kept, **{y: found.get(y, set()) for y in missing}}
            self._data = {"subdiv": subdiv, "years": kept}
            self._write()
        return {y: kept[y] for y in wanted}

    def _write(self) -> None:
        if self.path is None:
            return
        body = {
            "country": self.country,
            "asked": self.asked,
            "subdiv": self._data["subdiv"],
            "years": {str(y): sorted(d.isoformat() for d in ds) for y, ds in sorted(self._data["years"].items())},
        }
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".holidays-", suffix=".tmp")  # mode 0600
        except OSError:
            return  # a read-only disk: the package is read again next time
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out)
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)  # a full disk: no half-written copy left behind


def _safe(name: str) -> bool:
    """A file name with no path in it (a country or subdivision comes from the config)."""
    return "/" not in name and "\\" not in name and "\x00" not in name and not name.startswith(".")
