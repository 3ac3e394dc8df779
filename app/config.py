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
class DeskIdentity:
    """`[desk]`: who the desk is in its mail (no name lives in a template file)."""

    name: str = "eSIM Support Desk"
    reply_to: str | None = None
    signature: str | None = None  # multi-line; None: the template set's own ("Kind regards," + name)
    templates_dir: str | None = None  # <dir>/<lang>/*.txt override or add to the built-in templates
    language: str = "en"  # the language of a customer whose language is not known


@dataclass(frozen=True)
class MailConfig:
    """`[mail]`: what intake and the outbox do with mail that is not a customer's ordinary message."""

    auto_replies_per_day: int = 5  # automatic mails to one address in 24 hours
    reopen_days: int = 14  # a customer's mail reopens a ticket closed at most this long ago
    max_message_bytes: int = 10 * 1024 * 1024  # larger mail is quarantined (headers kept, body an attachment)
    stranger: str = "ticket"  # a mail quoting someone else's ticket: "ticket" (a new one) or "quarantine"
    max_attachment_bytes: int = 10 * 1024 * 1024  # files an agent attaches to one reply, together


@dataclass(frozen=True)
class OrdersConfig:
    """[orders] (contracts/orders.md "Lookup"): the shop's order-facts command."""

    lookup: tuple[str, ...] = ()  # argv; "{order}" is replaced by the order number; empty: no lookup
    timeout_seconds: float = 5.0
    max_age_minutes: float = 60.0


@dataclass(frozen=True)
class RefundsConfig:
    """[refunds] (issue 17, issue 15 point 6)."""

    auto_acknowledge: bool = True  # acknowledge a refund request by mail at intake (esimium 4.2)
    esimium_preactivation: str = "refund"  # "refund" | "case_by_case": esimium 2.1 against 3.2


@dataclass(frozen=True)
class ComplaintsConfig:
    """[complaints] (issue 17 point 10)."""

    no_reply_days: int = 10  # business days after the resolution was communicated before a no_reply closure
    max_extension_days: int = 20  # business days past the current deadline an assignee may extend


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
    desk: DeskIdentity = field(default_factory=DeskIdentity)
    mail: MailConfig = field(default_factory=MailConfig)
    orders: OrdersConfig = field(default_factory=OrdersConfig)
    # [outbox] hold_seconds and [console] start_view (console flow)
    outbox_hold_seconds: float = 30.0
    console_start_view: str | None = None  # None: agents and seniors "my", others "all"
    refunds: RefundsConfig = field(default_factory=RefundsConfig)
    complaints: ComplaintsConfig = field(default_factory=ComplaintsConfig)
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
        raise ConfigError(
            f"config: smtp.ca_file {path} is not a readable PEM bundle of CA certificates: {detail}"
        ) from None
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


def _finite(
    lo: float | None = None, hi: float | None = None, *, above: float | None = None
) -> Callable[[object], str | None]:
    """A finite number within [lo, hi] (and > above)."""

    def check(v: object) -> str | None:
        x = float(v)  # type: ignore[arg-type]
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
            raise ConfigError(
                f"config: unknown key {section}.{extra[0]} (known: {', '.join(sorted(settings)) or 'none'})"
            )
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
    refunds_cfg, complaints_cfg = _refunds_and_complaints(raw)
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
        desk=_desk_identity(_table(raw, "desk"), source),
        mail=_mail(v["mail"]),
        orders=_orders_config(raw),
        **_console_flow(v["outbox"], v["console"]),
        refunds=refunds_cfg,
        complaints=complaints_cfg,
        values=v,
    )


# -- [desk] identity and [mail] ------------------------------------------------------
def _desk_identity(desk: dict, source: str | None) -> DeskIdentity:
    name = " ".join(str(_typed(desk, "name", str, "desk", "eSIM Support Desk")).split())
    if not name or len(name) > 100:
        raise ConfigError("config: desk.name must be 1 to 100 characters")
    reply_to = _typed(desk, "reply_to", str, "desk", None)
    if reply_to is not None and ("@" not in reply_to or any(c.isspace() for c in reply_to.strip())):
        raise ConfigError(f"config: desk.reply_to {reply_to!r} is not an email address")
    signature = _typed(desk, "signature", str, "desk", None)
    if signature is not None and not signature.strip():
        raise ConfigError("config: desk.signature is empty; remove it to use the templates' own")
    tdir = _typed(desk, "templates_dir", str, "desk", None)
    if tdir is not None:
        path = Path(tdir).expanduser()
        if not path.is_absolute() and source:
            path = Path(source).expanduser().resolve().parent / path
        if not path.is_dir():
            raise ConfigError(f"config: desk.templates_dir {path} is not a folder")
        tdir = str(path.resolve())
    lang = str(_typed(desk, "language", str, "desk", "en")).strip().lower()
    if not lang.isalpha() or not 2 <= len(lang) <= 3:
        raise ConfigError(f"config: desk.language must be a language code such as 'en' or 'et', got {lang!r}")
    return DeskIdentity(
        name=name,
        reply_to=(reply_to or "").strip() or None,
        signature=signature.strip("\n") if signature else None,
        templates_dir=tdir,
        language=lang,
    )


def _mail(mail: dict) -> MailConfig:
    """[mail], its values already checked against SCHEMA."""
    return MailConfig(
        auto_replies_per_day=int(mail["auto_replies_per_day"]),  # type: ignore[call-overload]
        reopen_days=int(mail["reopen_days"]),  # type: ignore[call-overload]
        max_message_bytes=int(mail["max_message_bytes"]),  # type: ignore[call-overload]
        stranger=str(mail["stranger"]),
        max_attachment_bytes=int(mail["max_attachment_bytes"]),  # type: ignore[call-overload]
    )


# -- [orders] ------------------------------------------------------------------
def _orders_config(raw: dict) -> OrdersConfig:
    table = _table(raw, "orders")
    argv = _typed(table, "lookup", list, "orders", [])
    if not all(isinstance(a, str) for a in argv) or (argv and not argv[0].strip()):  # type: ignore[union-attr]
        raise ConfigError("config: orders.lookup must be a list of strings (a command and its arguments)")
    timeout = float(_typed(table, "timeout_seconds", (int, float), "orders", 5.0))  # type: ignore[arg-type]
    age = float(_typed(table, "max_age_minutes", (int, float), "orders", 60.0))  # type: ignore[arg-type]
    if timeout <= 0 or age < 0:
        raise ConfigError("config: orders.timeout_seconds must be positive and orders.max_age_minutes not negative")
    return OrdersConfig(tuple(argv), timeout, age)  # type: ignore[arg-type]


# -- [outbox] hold and [console] ------------------------------------------------
def _console_flow(outbox: dict, console: dict) -> dict:
    """`[outbox] hold_seconds` (how long a person's mail waits, recallable, before
    it may be sent; 0 = no hold) and `[console] start_view` (the queue view the
    console opens on: my, unassigned, due_today, ..., all); both already checked
    against SCHEMA except the view's name."""
    view = console["start_view"]
    if view is not None:
        from app.queue_query import VIEW_TITLES

        if view not in VIEW_TITLES:
            raise ConfigError(f"config: console.start_view must be one of {', '.join(VIEW_TITLES)}, got {view!r}")
    return {"outbox_hold_seconds": float(outbox["hold_seconds"]), "console_start_view": view}  # type: ignore[arg-type]


# -- [refunds] and [complaints] -------------------------------------------------
def _refunds_and_complaints(raw: dict) -> tuple[RefundsConfig, ComplaintsConfig]:
    refunds, complaints = _table(raw, "refunds"), _table(raw, "complaints")
    pre = str(_typed(refunds, "esimium_preactivation", str, "refunds", "refund"))
    if pre not in ("refund", "case_by_case"):
        raise ConfigError(f"config: refunds.esimium_preactivation must be refund or case_by_case, got {pre!r}")
    no_reply = _typed(complaints, "no_reply_days", int, "complaints", 10)
    max_ext = _typed(complaints, "max_extension_days", int, "complaints", 20)
    for key, value in (("no_reply_days", no_reply), ("max_extension_days", max_ext)):
        if value < 1:  # type: ignore[operator]
            raise ConfigError(f"config: complaints.{key} must be at least 1, got {value}")
    return (
        RefundsConfig(
            auto_acknowledge=bool(_typed(refunds, "auto_acknowledge", bool, "refunds", True)), esimium_preactivation=pre
        ),
        ComplaintsConfig(no_reply_days=no_reply, max_extension_days=max_ext),
    )  # type: ignore[arg-type]
