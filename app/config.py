"""The desk's configuration: a TOML file, every value checked on load.

Looked up at `$ESIMDESK_CONFIG`, else `<user config dir>/esimdesk/config.toml`;
a missing file means the defaults. Any malformed value raises ConfigError with
one line naming the key.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from app.errors import ConfigError

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
class RefundsConfig:
    """[refunds] (issue 17, issue 15 point 6)."""

    auto_acknowledge: bool = True  # acknowledge a refund request by mail at intake (esimium 4.2)
    esimium_preactivation: str = "refund"  # "refund" | "case_by_case": esimium 2.1 against 3.2


@dataclass(frozen=True)
class ComplaintsConfig:
    """[complaints] (issue 17 point 10)."""

    no_reply_days: int = 10  # business days after the resolution was communicated before a no_reply closure
    max_extension_days: int = 20  # business days past the current deadline an assignee may extend


def _refunds_and_complaints(raw: dict) -> tuple[RefundsConfig, ComplaintsConfig]:
    refunds, complaints = _table(raw, "refunds"), _table(raw, "complaints")
    for table, name, known in ((refunds, "refunds", {"auto_acknowledge", "esimium_preactivation"}),
                               (complaints, "complaints", {"no_reply_days", "max_extension_days"})):
        for key in sorted(set(table) - known):
            raise ConfigError(f"config: unknown key {name}.{key} (known: {', '.join(sorted(known))})")
    pre = str(_typed(refunds, "esimium_preactivation", str, "refunds", "refund"))
    if pre not in ("refund", "case_by_case"):
        raise ConfigError(f"config: refunds.esimium_preactivation must be refund or case_by_case, got {pre!r}")
    no_reply = _typed(complaints, "no_reply_days", int, "complaints", 10)
    max_ext = _typed(complaints, "max_extension_days", int, "complaints", 20)
    for key, value in (("no_reply_days", no_reply), ("max_extension_days", max_ext)):
        if value < 1:  # type: ignore[operator]
            raise ConfigError(f"config: complaints.{key} must be at least 1, got {value}")
    return (RefundsConfig(auto_acknowledge=bool(_typed(refunds, "auto_acknowledge", bool, "refunds", True)),
                          esimium_preactivation=pre),
            ComplaintsConfig(no_reply_days=no_reply, max_extension_days=max_ext))  # type: ignore[arg-type]


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
    refunds: RefundsConfig = field(default_factory=RefundsConfig)
    complaints: ComplaintsConfig = field(default_factory=ComplaintsConfig)


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


def parse_config(raw: dict, source: str | None = None) -> DeskConfig:
    known = {"database", "calendar", "sla", "smtp", "outbox", "desk", "dashboard", "retention", "keys", "refunds", "complaints"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"config: unknown section [{unknown[0]}] (known: {', '.join(sorted(known))})")
    db = _table(raw, "database")
    cal = _table(raw, "calendar")
    sla = _table(raw, "sla")
    smtp = _table(raw, "smtp")
    outbox = _table(raw, "outbox")
    desk = _table(raw, "desk")
    dash = _table(raw, "dashboard")
    ret = _table(raw, "retention")
    keys = _table(raw, "keys")

    workweek_raw = _typed(cal, "workweek", list, "calendar", list(WEEKDAYS[:5]))
    workweek: list[int] = []
    for day in workweek_raw:  # type: ignore[union-attr]
        if not isinstance(day, str) or day.lower()[:3] not in WEEKDAYS:
            raise ConfigError(f"config: calendar.workweek has {day!r}; use mon, tue, ... sun")
        workweek.append(WEEKDAYS.index(day.lower()[:3]))
    if not workweek:
        raise ConfigError("config: calendar.workweek must name at least one day")
    closures: list[date] = []
    for item in _typed(cal, "closures", list, "calendar", []):  # type: ignore[union-attr]
        if isinstance(item, date):
            closures.append(item)
            continue
        try:
            closures.append(date.fromisoformat(str(item)))
        except ValueError:
            raise ConfigError(f"config: calendar.closures has {item!r}, not a YYYY-MM-DD date") from None
    calendar = CalendarConfig(
        country=str(_typed(cal, "country", str, "calendar", "EE")).upper(),
        subdiv=_typed(cal, "subdiv", str, "calendar", None) or None,  # type: ignore[arg-type]
        timezone=str(_typed(cal, "timezone", str, "calendar", "Europe/Tallinn")),
        workweek=tuple(sorted(set(workweek))),
        closures=tuple(sorted(set(closures))),
    )
    share = float(_typed(sla, "at_risk_share", (int, float), "sla", 0.25))  # type: ignore[arg-type]
    if not 0 < share < 1:
        raise ConfigError(f"config: sla.at_risk_share must be between 0 and 1, got {share}")
    tls = str(_typed(smtp, "tls", str, "smtp", "none"))
    if tls not in ("none", "starttls", "ssl"):
        raise ConfigError(f"config: smtp.tls must be none, starttls or ssl, got {tls!r}")
    port = _typed(smtp, "port", int, "smtp", 25)
    if not 0 < port < 65536:  # type: ignore[operator]
        raise ConfigError(f"config: smtp.port out of range: {port}")
    ca_file = _smtp_ca_file(smtp, tls, source)
    refresh = float(_typed(dash, "refresh_seconds", (int, float), "dashboard", 5.0))  # type: ignore[arg-type]
    if refresh <= 0:
        raise ConfigError("config: dashboard.refresh_seconds must be positive")
    days = _typed(ret, "days", int, "retention", 730)
    if days < 1:  # type: ignore[operator]
        raise ConfigError("config: retention.days must be at least 1")
    for k, v in keys.items():
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"config: keys.{k} must be a key name such as 'a' or 'ctrl+e'")
    refunds_cfg, complaints_cfg = _refunds_and_complaints(raw)
    return DeskConfig(
        database_url=_typed(db, "url", str, "database", None),  # type: ignore[arg-type]
        calendar=calendar,
        at_risk_share=share,
        smtp=SmtpConfig(
            host=_typed(smtp, "host", str, "smtp", None),  # type: ignore[arg-type]
            port=port,  # type: ignore[arg-type]
            tls=tls,
            username=_typed(smtp, "username", str, "smtp", None),  # type: ignore[arg-type]
            password=_typed(smtp, "password", str, "smtp", None),  # type: ignore[arg-type]
            from_addr=str(_typed(smtp, "from_addr", str, "smtp", "complaints@esimdesk.example")),
            timeout=float(_typed(smtp, "timeout", (int, float), "smtp", 20.0)),  # type: ignore[arg-type]
            max_attempts=int(_typed(smtp, "max_attempts", int, "smtp", 6)),  # type: ignore[arg-type]
            ca_file=ca_file,
        ),
        outbox_maildir=_typed(outbox, "maildir", str, "outbox", None),  # type: ignore[arg-type]
        desk_address=str(_typed(desk, "address", str, "desk", "complaints@esimdesk.example")),
        dashboard_refresh_seconds=refresh,
        retention_days=days,  # type: ignore[arg-type]
        keys=dict(keys),
        source=source,
        refunds=refunds_cfg,
        complaints=complaints_cfg,
    )
