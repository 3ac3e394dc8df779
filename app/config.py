"""The desk's configuration: a TOML file, every value checked on load.

Looked up at `$ESIMDESK_CONFIG`, else `<user config dir>/esimdesk/config.toml`;
a missing file means the defaults. Any malformed value raises ConfigError with
one line naming the key.
"""
from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from app.errors import ConfigError, DeskError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class CalendarConfig:
    country: str = "EE"
    subdiv: str | None = None
    timezone: str = "Europe/Tallinn"
    workweek: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday=0
    closures: tuple[date, ...] = ()


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None = None
    port: int = 25
    tls: str = "none"  # none | starttls | ssl
    username: str | None = None
    password: str | None = None
    from_addr: str = "complaints@esimdesk.example"
    timeout: float = 20.0
    max_attempts: int = 6
    ca_file: str | None = None  # PEM bundle that verifies the server (a private CA); None = system CAs


@dataclass(frozen=True)
class DeskConfig:
    database_url: str | None = None
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    at_risk_share: float = 0.25
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    outbox_maildir: str | None = None
    desk_address: str = "complaints@esimdesk.example"
    dashboard_refresh_seconds: float = 5.0
    retention_days: int = 730
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> key(s)
    source: str | None = None
    values: dict[str, dict[str, object]] = field(default_factory=dict, repr=False, compare=False)

    def setting(self, section: str, key: str) -> object:
        """Any checked value from SCHEMA (its default when the file omits it)."""
        if section in self.values and key in self.values[section]:
            return self.values[section][key]
        return SCHEMA[section][key].default


def config_path() -> Path:
    env = os.environ.get("ESIMDESK_CONFIG")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("esimdesk")) / "config.toml"


def load_config(path: Path | None = None) -> DeskConfig:
    path = path or config_path()
    if not path.exists():
        if os.environ.get("ESIMDESK_CONFIG"):
            raise ConfigError(f"config file {path} does not exist (ESIMDESK_CONFIG)")
        return DeskConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from None
    return parse_config(raw, source=str(path))


def _table(raw: dict, name: str) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"config: [{name}] must be a table")
    return value


def _typed(table: dict, key: str, kind: type | tuple[type, ...], where: str, default: object) -> object:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"config: {where}.{key} must be {getattr(kind, '__name__', kind)}, not a boolean")
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"config: {where}.{key} must be {name}, got {value!r}")
    return value


def _smtp_ca_file(smtp: dict, tls: str, source: str | None) -> str | None:
    """`[smtp] ca_file` as an absolute path (a relative one is taken from the
    config file's folder), checked to be a readable PEM bundle of CA certificates."""
    value = _typed(smtp, "ca_file", str, "smtp", None)
    if value is None:
        return None
    if not str(value).strip():
        raise ConfigError("config: smtp.ca_file is empty; remove it to verify the server against the system CAs")
    if tls == "none":
        raise ConfigError("config: smtp.ca_file is set but smtp.tls is none; set tls to starttls or ssl")
    path = Path(str(value)).expanduser()
    if not path.is_absolute() and source:
        path = Path(source).expanduser().resolve().parent / path
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"config: smtp.ca_file {path} does not exist or is not a file")
    import re
    import ssl

    try:
        ssl.create_default_context(cafile=str(path))
    except OSError as exc:  # ssl.SSLError is an OSError too
        detail = re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(getattr(exc, "strerror", None) or exc))
        raise ConfigError(f"config: smtp.ca_file {path} is not a readable PEM bundle of CA certificates: {detail}") from None
    return str(path)


# -- the schema: one entry per section and key ------------------------------
#
# Every section the file may hold, each key with its type, default and check.
# Adding a setting is one entry here (plus, if a service wants an attribute,
# a field on DeskConfig); `DeskConfig.setting(section, key)` reads any value.
# A check returns None when the value is fine, else what is wrong with it.


@dataclass(frozen=True)
class Setting:
    kind: type | tuple[type, ...]
    default: object = None
    check: Callable[[object], str | None] | None = None


def _finite(lo: float | None = None, hi: float | None = None, *, above: float | None = None) -> Callable[[object], str | None]:
    """A finite number within [lo, hi] (and > above)."""

    def check(v: object) -> str | None:
        x = float(v)  # type: ignore[arg-type]
        if not math.isfinite(x):
            return f"must be a finite number, got {v!r}"
        if above is not None and not x > above:
            return f"must be more than {above:g}, got {v!r}"
        if lo is not None and x < lo or hi is not None and x > hi:
            return f"must be between {lo:g} and {hi:g}, got {v!r}" if lo is not None and hi is not None else (
                f"must be at least {lo:g}, got {v!r}" if lo is not None else f"must be at most {hi:g}, got {v!r}")
        return None

    return check


def _choice(*options: str) -> Callable[[object], str | None]:
    return lambda v: None if v in options else f"must be {', '.join(options[:-1])} or {options[-1]}, got {v!r}"


def _nonempty(v: object) -> str | None:
    return None if str(v).strip() else "must not be empty"


def _timezone(v: object) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(v))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"{v!r} is not a known time zone (IANA name such as Europe/Tallinn)"
    return None


def _database_url(v: object) -> str | None:
    from app.db import normalise_url

    try:
        normalise_url(str(v))
    except ConfigError as exc:
        return str(exc).replace("malformed database URL", "is not a database URL", 1)
    return None


def _login_list(v: object) -> str | None:
    bad = [x for x in v if not isinstance(x, str) or not x.strip()]  # type: ignore[union-attr]
    return f"must be a list of login names, has {bad[0]!r}" if bad else None


NUMBER = (int, float)
POSITIVE_SECONDS = _finite(hi=86400 * 366, above=0)
# the calendar is checked as a whole (country with subdivision) in _calendar()
SCHEMA: dict[str, dict[str, Setting]] = {
    "database": {
        "url": Setting(str, None, _database_url),
        # PostgreSQL: how long a write waits for a row someone else holds, and
        # the longest statement, before a one-line "try again"
        "lock_timeout_seconds": Setting(NUMBER, 5.0, _finite(hi=3600, above=0)),
        "statement_timeout_seconds": Setting(NUMBER, 300.0, _finite(hi=86400, above=0)),
        # SQLite: how long a writer waits for the single write lock
        "sqlite_busy_seconds": Setting(NUMBER, 15.0, _finite(hi=3600, above=0)),
    },
    "calendar": {
        "country": Setting(str, "EE", _nonempty),
        "subdiv": Setting(str, None),
        "timezone": Setting(str, "Europe/Tallinn", _timezone),
        "workweek": Setting(list, list(WEEKDAYS[:5])),
        "closures": Setting(list, []),
    },
    "sla": {"at_risk_share": Setting(NUMBER, 0.25, _finite(above=0, hi=0.999999))},
    "smtp": {
        "host": Setting(str, None, _nonempty),
        "port": Setting(int, 25, _finite(1, 65535)),
        "tls": Setting(str, "none", _choice("none", "starttls", "ssl")),
        "username": Setting(str, None),
        "password": Setting(str, None),
        "from_addr": Setting(str, "complaints@esimdesk.example", _nonempty),
        "timeout": Setting(NUMBER, 20.0, _finite(hi=3600, above=0)),
        "max_attempts": Setting(int, 6, _finite(1, 100)),
        "ca_file": Setting(str, None),  # checked by _smtp_ca_file
    },
    "outbox": {"maildir": Setting(str, None, _nonempty)},
    "desk": {"address": Setting(str, "complaints@esimdesk.example", _nonempty)},
    "dashboard": {"refresh_seconds": Setting(NUMBER, 5.0, _finite(0.2, 3600))},
    "retention": {"days": Setting(int, 730, _finite(1, 36500))},
    "serve": {"max_sessions": Setting(int, 8, _finite(1, 1000))},
    # accounts that run intake and outbox send from cron/systemd without a staff record
    "service": {"accounts": Setting(list, [], _login_list)},
    "keys": {},  # binding id -> key(s); ids are checked when a screen opens (app.cli.keymap)
}
FREE_FORM = {"keys"}


def _checked(raw: dict) -> dict[str, dict[str, object]]:
    """Every section and key of `raw` checked against SCHEMA, defaults filled in."""
    unknown = sorted(set(raw) - set(SCHEMA))
    if unknown:
        raise ConfigError(f"config: unknown section [{unknown[0]}] (known: {', '.join(sorted(SCHEMA))})")
    values: dict[str, dict[str, object]] = {}
    for section, settings in SCHEMA.items():
        table = _table(raw, section)
        if section in FREE_FORM:
            values[section] = dict(table)
            continue
        extra = sorted(set(table) - set(settings))
        if extra:
            raise ConfigError(f"config: unknown key {section}.{extra[0]} (known: {', '.join(sorted(settings)) or 'none'})")
        values[section] = {}
        for key, setting in settings.items():
            value = _typed(table, key, setting.kind, section, setting.default)
            if key in table and setting.check is not None:
                problem = setting.check(value)
                if problem:
                    raise ConfigError(f"config: {section}.{key} {problem}")
            values[section][key] = value
    return values


def _calendar(cal: dict[str, object], given: bool) -> CalendarConfig:
    workweek: list[int] = []
    for day in cal["workweek"]:  # type: ignore[union-attr]
        if not isinstance(day, str) or day.lower()[:3] not in WEEKDAYS:
            raise ConfigError(f"config: calendar.workweek has {day!r}; use mon, tue, ... sun")
        workweek.append(WEEKDAYS.index(day.lower()[:3]))
    if not workweek:
        raise ConfigError("config: calendar.workweek must name at least one day")
    closures: list[date] = []
    for item in cal["closures"]:  # type: ignore[union-attr]
        if isinstance(item, date) and not isinstance(item, datetime):
            closures.append(item)
            continue
        try:
            closures.append(date.fromisoformat(str(item)))
        except ValueError:
            raise ConfigError(f"config: calendar.closures has {item!r}, not a YYYY-MM-DD date") from None
    calendar = CalendarConfig(
        country=str(cal["country"]).strip().upper(),
        subdiv=str(cal["subdiv"]).strip() if cal["subdiv"] and str(cal["subdiv"]).strip() else None,
        timezone=str(cal["timezone"]),
        workweek=tuple(sorted(set(workweek))),
        closures=tuple(sorted(set(closures))),
    )
    if not given:
        return calendar
    from app.business_calendar import calendar_from_config

    try:  # the country and subdivision exist in `holidays`, the zone in zoneinfo
        calendar_from_config(calendar)
    except DeskError as exc:
        raise ConfigError(f"config: [calendar] {exc}") from None
    return calendar


def parse_config(raw: dict, source: str | None = None) -> DeskConfig:
    v = _checked(raw)
    smtp = v["smtp"]
    tls = str(smtp["tls"])
    ca_file = _smtp_ca_file(_table(raw, "smtp"), tls, source)
    for k, key in v["keys"].items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"config: keys.{k} must be a key name such as 'a' or 'ctrl+e'")
    return DeskConfig(
        database_url=v["database"]["url"],  # type: ignore[arg-type]
        calendar=_calendar(v["calendar"], "calendar" in raw),
        at_risk_share=float(v["sla"]["at_risk_share"]),  # type: ignore[arg-type]
        smtp=SmtpConfig(
            host=smtp["host"],  # type: ignore[arg-type]
            port=int(smtp["port"]),  # type: ignore[arg-type]
            tls=tls,
            username=smtp["username"],  # type: ignore[arg-type]
            password=smtp["password"],  # type: ignore[arg-type]
            from_addr=str(smtp["from_addr"]),
            timeout=float(smtp["timeout"]),  # type: ignore[arg-type]
            max_attempts=int(smtp["max_attempts"]),  # type: ignore[arg-type]
            ca_file=ca_file,
        ),
        outbox_maildir=v["outbox"]["maildir"],  # type: ignore[arg-type]
        desk_address=str(v["desk"]["address"]),
        dashboard_refresh_seconds=float(v["dashboard"]["refresh_seconds"]),  # type: ignore[arg-type]
        retention_days=int(v["retention"]["days"]),  # type: ignore[arg-type]
        keys=dict(v["keys"]),  # type: ignore[arg-type]
        source=source,
        values=v,
    )
