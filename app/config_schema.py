"""The configuration file's schema: every section and key with its type,
default and check (app/config.py builds DeskConfig from the checked values),
and the readers that give a checked value its type.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# a TOML table as tomllib reads it (its values are whatever the file holds)
RawTable = dict[str, Any]
# every section's checked values, defaults filled in
Values = dict[str, dict[str, object]]


def section(raw: RawTable, name: str) -> RawTable:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"config: [{name}] must be a table")
    return value


def typed(table: RawTable, key: str, kind: type | tuple[type, ...], where: str, default: object) -> object:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"config: {where}.{key} must be {getattr(kind, '__name__', kind)}, not a boolean")
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"config: {where}.{key} must be {name}, got {value!r}")
    return value


def as_float(v: object) -> float:
    """A value the schema has checked to be a number."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"config: {v!r} is not a number")
    return float(v)


def as_int(v: object) -> int:
    """A value the schema has checked to be a whole number."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"config: {v!r} is not a whole number")
    return int(v)


def as_opt_str(v: object) -> str | None:
    """A value the schema has checked to be text (None: not set)."""
    if v is not None and not isinstance(v, str):
        raise ConfigError(f"config: {v!r} is not text")
    return v


def as_list(v: object) -> list[object]:
    """A value the schema has checked to be a list."""
    if not isinstance(v, list):
        raise ConfigError(f"config: {v!r} is not a list")
    return v


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


def _finite(
    lo: float | None = None, hi: float | None = None, *, above: float | None = None
) -> Callable[[object], str | None]:
    """A finite number within [lo, hi] (and > above)."""

    def check(v: object) -> str | None:
        x = as_float(v)
        if not math.isfinite(x):
            return f"must be a finite number, got {v!r}"
        if above is not None and not x > above:
            return f"must be more than {above:g}, got {v!r}"
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            return (
                f"must be between {lo:g} and {hi:g}, got {v!r}"
                if lo is not None and hi is not None
                else (f"must be at least {lo:g}, got {v!r}" if lo is not None else f"must be at most {hi:g}, got {v!r}")
            )
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
    bad = [x for x in as_list(v) if not isinstance(x, str) or not x.strip()]
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
    "outbox": {
        "maildir": Setting(str, None, _nonempty),
        "hold_seconds": Setting(NUMBER, 30.0, _finite(0, 3600)),  # 0: a person's mail is not held
    },
    "console": {"start_view": Setting(str, None)},  # checked in _console_flow()
    "desk": {  # who the desk is in its mail; checked as a whole in _desk_identity()
        "address": Setting(str, "complaints@esimdesk.example", _nonempty),
        "name": Setting(str, "eSIM Support Desk"),
        "reply_to": Setting(str, None),
        "signature": Setting(str, None),
        "templates_dir": Setting(str, None),
        "language": Setting(str, "en"),
    },
    "mail": {  # checked in _mail()
        "auto_replies_per_day": Setting(int, 5, _finite(0, 1000)),  # 0: the desk never answers on its own
        "reopen_days": Setting(int, 14, _finite(0, 3650)),  # 0: a closed ticket is never reopened by mail
        "max_message_bytes": Setting(int, 10 * 1024 * 1024, _finite(1024, 100 * 1024 * 1024)),
        "stranger": Setting(str, "ticket", _choice("ticket", "quarantine")),
        "max_attachment_bytes": Setting(int, 10 * 1024 * 1024, _finite(0, 25 * 1024 * 1024)),  # 0: no files out
    },
    "orders": {  # checked in _orders_config()
        "lookup": Setting(list, []),
        "timeout_seconds": Setting(NUMBER, 5.0, _finite(hi=3600, above=0)),
        "max_age_minutes": Setting(NUMBER, 60.0, _finite(0, 525600)),
    },
    "refunds": {  # checked in _refunds_and_complaints()
        "auto_acknowledge": Setting(bool, True),
        "esimium_preactivation": Setting(str, "refund"),
    },
    "complaints": {
        "no_reply_days": Setting(int, 10, _finite(1, 365)),
        "max_extension_days": Setting(int, 20, _finite(1, 3650)),
    },
    "dashboard": {"refresh_seconds": Setting(NUMBER, 5.0, _finite(0.2, 3600))},
    "retention": {"days": Setting(int, 730, _finite(1, 36500))},
    "serve": {"max_sessions": Setting(int, 8, _finite(1, 1000))},
    # accounts that run intake and outbox send from cron/systemd without a staff record
    "service": {"accounts": Setting(list, [], _login_list)},
    "keys": {},  # binding id -> key(s); ids are checked when a screen opens (app.cli.keymap)
}
FREE_FORM = {"keys"}


def checked(raw: RawTable) -> Values:
    """Every section and key of `raw` checked against SCHEMA, defaults filled in."""
    unknown = sorted(set(raw) - set(SCHEMA))
    if unknown:
        raise ConfigError(f"config: unknown section [{unknown[0]}] (known: {', '.join(sorted(SCHEMA))})")
    values: Values = {}
    for name, settings in SCHEMA.items():
        table = section(raw, name)
        if name in FREE_FORM:
            values[name] = dict(table)
            continue
        extra = sorted(set(table) - set(settings))
        if extra:
            raise ConfigError(f"config: unknown key {name}.{extra[0]} (known: {', '.join(sorted(settings)) or 'none'})")
        values[name] = {}
        for key, setting in settings.items():
            value = typed(table, key, setting.kind, name, setting.default)
            if key in table and setting.check is not None:
                problem = setting.check(value)
                if problem:
                    raise ConfigError(f"config: {name}.{key} {problem}")
            values[name][key] = value
    return values
