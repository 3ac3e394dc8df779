"""The desk's configuration: a TOML file, every value checked on load.

Looked up at `$ESIMDESK_CONFIG`, else `<user config dir>/esimdesk/config.toml`;
a missing file means the defaults. Any malformed value raises ConfigError with
one line naming the key. Every section's keys, types, defaults and checks
are in app/config_schema.py; here they become DeskConfig.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from app.config_schema import (
    SCHEMA,
    WEEKDAYS,
    RawTable,
    as_float,
    as_int,
    as_list,
    as_opt_str,
    checked,
    section,
    typed,
)
from app.errors import ConfigError, DeskError


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
    """[orders] (the shared orders contract, "Lookup"): the shop's order-facts command."""

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
            raise ConfigError(f"config file {path} does not exist")  # named by --config or ESIMDESK_CONFIG
        return DeskConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from None
    return parse_config(raw, source=str(path))


def _smtp_ca_file(smtp: RawTable, tls: str, source: str | None) -> str | None:
    """`[smtp] ca_file` as an absolute path (a relative one is taken from the
    config file's folder), checked to be a readable PEM bundle of CA certificates."""
    value = typed(smtp, "ca_file", str, "smtp", None)
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


def _calendar(cal: dict[str, object], given: bool) -> CalendarConfig:
    workweek: list[int] = []
    for day in as_list(cal["workweek"]):
        if not isinstance(day, str) or day.lower()[:3] not in WEEKDAYS:
            raise ConfigError(f"config: calendar.workweek has {day!r}; use mon, tue, ... sun")
        workweek.append(WEEKDAYS.index(day.lower()[:3]))
    if not workweek:
        raise ConfigError("config: calendar.workweek must name at least one day")
    closures: list[date] = []
    for item in as_list(cal["closures"]):
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


def parse_config(raw: RawTable, source: str | None = None) -> DeskConfig:
    v = checked(raw)
    smtp = v["smtp"]
    tls = str(smtp["tls"])
    ca_file = _smtp_ca_file(section(raw, "smtp"), tls, source)
    keys: dict[str, str] = {}
    for k, key in v["keys"].items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"config: keys.{k} must be a key name such as 'a' or 'ctrl+e'")
        keys[k] = key
    hold_seconds, start_view = _console_flow(v["outbox"], v["console"])
    refunds_cfg, complaints_cfg = _refunds_and_complaints(raw)
    return DeskConfig(
        database_url=as_opt_str(v["database"]["url"]),
        calendar=_calendar(v["calendar"], "calendar" in raw),
        at_risk_share=as_float(v["sla"]["at_risk_share"]),
        smtp=SmtpConfig(
            host=as_opt_str(smtp["host"]),
            port=as_int(smtp["port"]),
            tls=tls,
            username=as_opt_str(smtp["username"]),
            password=as_opt_str(smtp["password"]),
            from_addr=str(smtp["from_addr"]),
            timeout=as_float(smtp["timeout"]),
            max_attempts=as_int(smtp["max_attempts"]),
            ca_file=ca_file,
        ),
        outbox_maildir=as_opt_str(v["outbox"]["maildir"]),
        desk_address=str(v["desk"]["address"]),
        dashboard_refresh_seconds=as_float(v["dashboard"]["refresh_seconds"]),
        retention_days=as_int(v["retention"]["days"]),
        keys=keys,
        source=source,
        desk=_desk_identity(section(raw, "desk"), source),
        mail=_mail(v["mail"]),
        orders=_orders_config(raw),
        outbox_hold_seconds=hold_seconds,
        console_start_view=start_view,
        refunds=refunds_cfg,
        complaints=complaints_cfg,
        values=v,
    )


# -- [desk] identity and [mail] ------------------------------------------------------
def _desk_identity(desk: RawTable, source: str | None) -> DeskIdentity:
    name = " ".join(str(typed(desk, "name", str, "desk", "eSIM Support Desk")).split())
    if not name or len(name) > 100:
        raise ConfigError("config: desk.name must be 1 to 100 characters")
    reply_to = as_opt_str(typed(desk, "reply_to", str, "desk", None))
    if reply_to is not None and ("@" not in reply_to or any(c.isspace() for c in reply_to.strip())):
        raise ConfigError(f"config: desk.reply_to {reply_to!r} is not an email address")
    signature = as_opt_str(typed(desk, "signature", str, "desk", None))
    if signature is not None and not signature.strip():
        raise ConfigError("config: desk.signature is empty; remove it to use the templates' own")
    tdir = as_opt_str(typed(desk, "templates_dir", str, "desk", None))
    if tdir is not None:
        path = Path(tdir).expanduser()
        if not path.is_absolute() and source:
            path = Path(source).expanduser().resolve().parent / path
        if not path.is_dir():
            raise ConfigError(f"config: desk.templates_dir {path} is not a folder")
        tdir = str(path.resolve())
    lang = str(typed(desk, "language", str, "desk", "en")).strip().lower()
    if not lang.isalpha() or not 2 <= len(lang) <= 3:
        raise ConfigError(f"config: desk.language must be a language code such as 'en' or 'et', got {lang!r}")
    return DeskIdentity(
        name=name,
        reply_to=(reply_to or "").strip() or None,
        signature=signature.strip("\n") if signature else None,
        templates_dir=tdir,
        language=lang,
    )


def _mail(mail: dict[str, object]) -> MailConfig:
    """[mail], its values already checked against SCHEMA."""
    return MailConfig(
        auto_replies_per_day=as_int(mail["auto_replies_per_day"]),
        reopen_days=as_int(mail["reopen_days"]),
        max_message_bytes=as_int(mail["max_message_bytes"]),
        stranger=str(mail["stranger"]),
        max_attachment_bytes=as_int(mail["max_attachment_bytes"]),
    )


# -- [orders] ------------------------------------------------------------------
def _orders_config(raw: RawTable) -> OrdersConfig:
    table = section(raw, "orders")
    given = as_list(typed(table, "lookup", list, "orders", []))
    argv = [a for a in given if isinstance(a, str)]
    if len(argv) != len(given) or (argv and not argv[0].strip()):
        raise ConfigError("config: orders.lookup must be a list of strings (a command and its arguments)")
    timeout = as_float(typed(table, "timeout_seconds", (int, float), "orders", 5.0))
    age = as_float(typed(table, "max_age_minutes", (int, float), "orders", 60.0))
    if timeout <= 0 or age < 0:
        raise ConfigError("config: orders.timeout_seconds must be positive and orders.max_age_minutes not negative")
    return OrdersConfig(tuple(argv), timeout, age)


# -- [outbox] hold and [console] ------------------------------------------------
def _console_flow(outbox: dict[str, object], console: dict[str, object]) -> tuple[float, str | None]:
    """`[outbox] hold_seconds` (how long a person's mail waits, recallable, before
    it may be sent; 0 = no hold) and `[console] start_view` (the queue view the
    console opens on: my, unassigned, due_today, ..., all); both already checked
    against SCHEMA except the view's name."""
    view = as_opt_str(console["start_view"])
    if view is not None:
        from app.queue_query import VIEW_TITLES

        if view not in VIEW_TITLES:
            raise ConfigError(f"config: console.start_view must be one of {', '.join(VIEW_TITLES)}, got {view!r}")
    return as_float(outbox["hold_seconds"]), view


# -- [refunds] and [complaints] -------------------------------------------------
def _refunds_and_complaints(raw: RawTable) -> tuple[RefundsConfig, ComplaintsConfig]:
    refunds, complaints = section(raw, "refunds"), section(raw, "complaints")
    pre = str(typed(refunds, "esimium_preactivation", str, "refunds", "refund"))
    if pre not in ("refund", "case_by_case"):
        raise ConfigError(f"config: refunds.esimium_preactivation must be refund or case_by_case, got {pre!r}")
    no_reply = as_int(typed(complaints, "no_reply_days", int, "complaints", 10))
    max_ext = as_int(typed(complaints, "max_extension_days", int, "complaints", 20))
    for key, value in (("no_reply_days", no_reply), ("max_extension_days", max_ext)):
        if value < 1:
            raise ConfigError(f"config: complaints.{key} must be at least 1, got {value}")
    return (
        RefundsConfig(
            auto_acknowledge=bool(typed(refunds, "auto_acknowledge", bool, "refunds", True)), esimium_preactivation=pre
        ),
        ComplaintsConfig(no_reply_days=no_reply, max_extension_days=max_ext),
    )
