"""Customer-facing message templates: the one place customer mail is rendered.

A template set is a folder per language (`app/data/templates/<lang>/`, and a
desk's own `[desk] templates_dir/<lang>/`, which overrides or adds files).
Each `<name>.txt` starts with a `Subject:` line, then the core text. The
renderer adds the set's greeting (`_greeting.txt`) before it and the
signature after it (`[desk] signature`, else the set's `_signature.txt`), so
every mail greets and signs exactly once; the desk's name, address and
reply address come from config (`$desk_name`, `$desk_address`, `$reply_to`),
never from a template file.

Rendering is strict: every placeholder needs a value (None is no value), a
text an agent writes (`AGENT_FIELDS`) must not be blank, or InputError names
the field. Values are substituted once and never re-parsed, so customer text
inside a value cannot inject anything. Every subject names the ticket
reference, so replies thread back. A language without a file falls back to
English.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

from app.business_calendar import BusinessCalendar
from app.config import DeskConfig
from app.errors import InputError
from models.enums import OutOfScope

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "data" / "templates"
DEFAULT_LANGUAGE = "en"
TEMPLATE_DIR = BUILTIN_DIR / DEFAULT_LANGUAGE  # the English set (kept for callers that list files)

ACKNOWLEDGMENT = "acknowledgment"
INFORMATION_REQUEST = "information_request"
PROGRESS_UPDATE = "progress_update"
PROPOSED_RESOLUTION = "proposed_resolution"
ESCALATION_ACKNOWLEDGMENT = "escalation_acknowledgment"
FINAL_RESPONSE = "final_response"
SECOND_ESCALATION = "second_escalation"
ESCALATION_NOT_POSSIBLE = "escalation_not_possible"
REPLY = "reply"  # an agent's free text, greeted and signed
REFUND_ORDER_NUMBER = "refund_order_number"
GREETING, SIGNATURE = "_greeting", "_signature"

# text a person writes into a template: never blank
AGENT_FIELDS = frozenset({"text", "request", "reason", "resolution", "response", "notice", "explanation", "problem"})


def out_of_scope_template(category: OutOfScope | str) -> str:
    return f"out_of_scope_{OutOfScope(category).value}"


@dataclass(frozen=True)
class Rendered:
    template: str
    subject: str
    body: str
    language: str = DEFAULT_LANGUAGE


def _dirs(config: DeskConfig | None, lang: str) -> list[Path]:
    """Folders searched for a template, first match wins."""
    own = Path(config.desk.templates_dir) if config is not None and config.desk.templates_dir else None
    out: list[Path] = []
    for code in dict.fromkeys((lang, DEFAULT_LANGUAGE)):
        if own is not None:
            out.append(own / code)
        out.append(BUILTIN_DIR / code)
    out.append(BUILTIN_DIR)  # files added flat by older changes count as English
    return out


def _find(name: str, config: DeskConfig | None, lang: str) -> tuple[Path, str]:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name or ""):
        raise InputError(f"no message template {name!r}")
    for d in _dirs(config, lang):
        path = d / f"{name}.txt"
        if path.is_file():
            code = d.name if d != BUILTIN_DIR else DEFAULT_LANGUAGE
            return path, code
    raise InputError(f"no message template {name!r}")


@lru_cache(maxsize=256)
def _read(path: Path, mtime: float) -> tuple[Template | None, Template]:
    text = path.read_text(encoding="utf-8")
    if path.stem.startswith("_"):  # greeting/signature: no subject
        return None, Template(text.strip("\n"))
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise InputError(f"template {path.stem!r} must start with a 'Subject:' line")
    return Template(first[len("Subject:") :].strip()), Template(body.strip("\n"))


# A template file found and read is used again without looking at the disk for this
# long: a mail renders three (greeting, body, signature), and finding and checking
# each one on disk cost about 11 us (33 us a mail, 6 % of a message's intake CPU).
# A file added, edited or removed is still seen by a running intake or console, at
# most this much later.
RECHECK_SECONDS = 1.0
_loaded: dict[tuple[str, str | None, str], tuple[float, tuple[Template | None, Template, str]]] = {}


def _load(
    name: str, config: DeskConfig | None = None, lang: str = DEFAULT_LANGUAGE
) -> tuple[Template | None, Template, str]:
    key = (name, config.desk.templates_dir if config is not None else None, lang)
    now = time.monotonic()
    kept = _loaded.get(key)
    if kept is not None and now - kept[0] < RECHECK_SECONDS:
        return kept[1]
    path, code = _find(name, config, lang)
    try:
        subject, body = _read(path, path.stat().st_mtime)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read template {name!r} ({path}): {exc}") from None
    if len(_loaded) > 256:
        _loaded.clear()
    _loaded[key] = (now, (subject, body, code))
    return subject, body, code


def names(config: DeskConfig | None = None, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """Every template a mail can be rendered from (greeting and signature parts excluded)."""
    found = {p.stem for d in _dirs(config, lang) if d.is_dir() for p in d.glob("*.txt")}
    return sorted(n for n in found if not n.startswith("_"))


def languages(config: DeskConfig | None = None) -> list[str]:
    """Languages with a template set (built in or the desk's own; read once a process)."""
    return list(_languages(config.desk.templates_dir if config is not None else None))


@lru_cache(maxsize=8)
def _languages(own: str | None) -> tuple[str, ...]:
    roots = [BUILTIN_DIR] + ([Path(own)] if own else [])
    return tuple(
        sorted(
            {
                d.name
                for r in roots
                if r.is_dir()
                for d in r.iterdir()
                if d.is_dir() and (d / f"{GREETING}.txt").is_file()
            }
        )
    )


def desk_values(config: DeskConfig | None) -> dict[str, str]:
    """What the desk's config says about itself, for every template."""
    cfg = config or DeskConfig()
    return {
        "desk_name": cfg.desk.name,
        "desk_address": cfg.desk_address,
        "reply_to": cfg.desk.reply_to or cfg.desk_address,
    }


def _fill(name: str, t: Template, vals: dict[str, str]) -> str:
    try:
        return t.substitute(vals)
    except KeyError as exc:
        raise InputError(f"template {name!r} needs a value for {exc.args[0]!r}") from None
    except ValueError as exc:  # a malformed placeholder in a desk's own file
        raise InputError(f"template {name!r} is malformed: {exc}") from None


# -- text the code fills in, worded per language -----------------------------------------
class Localized(str):
    """English text the desk's code fills into a template (a date, a list of
    missing details, a stage...), which a template set in another language
    words its own way from its `_words.toml`; English when that lacks it."""

    key: str
    params: dict[str, Any]

    def __new__(cls, english: str, key: str, **params: object) -> Localized:
        obj = super().__new__(cls, english)
        obj.key, obj.params = key, params
        return obj

    def localize(self, words: dict[str, Any]) -> str:
        try:
            if self.key == "date":
                d = self.params["date"]
                return str(words["date"]).format(
                    weekday=words["weekdays"][d.weekday()],
                    day=d.day,
                    month=words["months"][d.month - 1],
                    month_number=d.month,
                    year=d.year,
                )
            if self.key == "missing_info":
                items = "\n".join(f"- {words['fields'].get(f, f)}" for f in self.params["fields"])
                return str(words["missing_info"]).format(items=items)
            if self.key == "stage":
                return str(words["stages"][self.params["status"]])
            return str(words[self.key]).format(**self.params)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            return str(self)


@lru_cache(maxsize=32)
def _read_words(path: Path, mtime: float) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def words(lang: str, config: DeskConfig | None = None) -> dict[str, Any]:
    """The language's `_words.toml` (built in, then the desk's own over it); {} for English."""
    merged: dict[str, Any] = {}
    for d in reversed(_dirs(config, lang)[:-1]):
        path = d / "_words.toml"
        if d.name == lang and path.is_file():
            merged.update(_read_words(path, path.stat().st_mtime))
    return merged


# a complaint's stage as the complaints policy names its steps (the process, steps 1-8)
STAGES = {
    "submitted": "Inquiry Submission",
    "acknowledged": "Initial Review & Acknowledgment",
    "information_gathering": "Information Gathering",
    "investigation": "Internal Investigation",
    "resolution_proposed": "Proposed Resolution Formulation",
    "resolution_communicated": "Communication of Resolution",
    "escalated": "Escalation",
    "closed": "closed",
}


def stage(status: str) -> Localized:
    """A ticket's stage in the customer's words: the policy's name for its step."""
    return Localized(STAGES.get(status, status.replace("_", " ")), "stage", status=status)


def _values(
    name: str, values: dict[str, object], config: DeskConfig | None, lang: str = DEFAULT_LANGUAGE
) -> dict[str, str]:
    vals = desk_values(config)
    wording = (
        words(lang, config)
        if lang != DEFAULT_LANGUAGE and any(isinstance(v, Localized) for v in values.values())
        else {}
    )
    for k, v in values.items():
        if v is None:
            continue  # no value: the placeholder (if used) is reported missing
        text = v.localize(wording) if isinstance(v, Localized) and wording else str(v)
        if k in AGENT_FIELDS:
            text = agent_body(text)
            if not text.strip():
                raise InputError(f"template {name!r}: {k!r} is empty")
        vals[k] = text
    return vals


def render_core(name: str, *, lang: str | None = None, config: DeskConfig | None = None, **values: object) -> str:
    """The template's core text alone (no greeting, no signature), filled
    strictly: what an agent starts a reply from, or a preview's middle part."""
    _subject, body, code = _load(name, config, lang or DEFAULT_LANGUAGE)
    return _fill(name, body, _values(name, values, config, code)).strip() + "\n"


def render(name: str, *, lang: str | None = None, config: DeskConfig | None = None, **values: object) -> Rendered:
    """Fill template `name` in `lang` (English when the set lacks it), greeted
    and signed: InputError names a placeholder without a value or a blank
    agent text. `config` gives the desk's name, address and signature."""
    lang = (lang or (config.desk.language if config is not None else DEFAULT_LANGUAGE)).lower()
    subject_t, body_t, code = _load(name, config, lang)
    vals = _values(name, values, config, code)
    greeting = _fill(GREETING, _load(GREETING, config, code)[1], vals)
    own_signature = config.desk.signature if config is not None else None
    signature = (
        own_signature.strip("\n") if own_signature else _fill(SIGNATURE, _load(SIGNATURE, config, code)[1], vals)
    )
    core = _fill(name, body_t, vals).strip("\n")
    subject = _fill(name, subject_t, vals) if subject_t is not None else ""
    body = f"{greeting}\n\n{core}\n\n{signature}\n"
    return Rendered(name, " ".join(subject.split()), re.sub(r"\n{3,}", "\n\n", body), code)


def middle(body: str) -> str:
    """What lies between a rendered mail's greeting paragraph and its signature
    paragraph: the agent's text of a recalled reply."""
    parts = str(body).strip("\n").split("\n\n")
    return "\n\n".join(parts[1:-1]) + "\n" if len(parts) >= 3 else str(body)


# -- the agent's own text ---------------------------------------------------------------
_GREETING_LINE = re.compile(
    r"^\s*(dear|hello|hi|hey|good (morning|afternoon|evening)|greetings|tere|hea|lugupeetud|tervist)\b[^\n,.!?:]{0,60}[,!:]?\s*$",
    re.IGNORECASE,
)
_CLOSING_LINE = re.compile(
    r"^\s*(kind regards|best regards|warm regards|regards|best wishes|all the best|best|cheers|warmly|sincerely|"
    r"yours sincerely|thanks|many thanks|thank you|lugupidamisega|parimate soovidega|tervitades|tänan|ilusat päeva)\s*(,[^\n]{0,40})?[.!]?\s*$",
    re.IGNORECASE,
)


# the same inside a line: a greeting that names someone, then the text; a sign-off after the last sentence
_INLINE_GREETING = re.compile(
    r"^\s*(?:(?:dear|lugupeetud|hea)\s+[^\n,!:]{1,60}|(?:hi|hello|hey|tere|tervist)\s+\w[\w'-]*(?:\s+\w[\w'-]*){0,2})[,!:]\s+(?=\S)",
    re.IGNORECASE,
)
_INLINE_CLOSING = re.compile(
    r"(?<=[.!?])\s+(?:kind regards|best regards|warm regards|regards|best wishes|all the best|best|cheers|sincerely|"
    r"yours sincerely|many thanks|"
    r"lugupidamisega|parimate soovidega|tervitades)\s*[,.!]?(?:\s+[\w .'-]{1,40})?\s*$",
    re.IGNORECASE,
)


def agent_body(text: str) -> str:
    """An agent's text as the middle of a mail: a greeting line of its own at
    the start and a sign-off (with up to three name lines after it) at the
    end are dropped, since the template greets and signs."""
    whole = str(text).replace("\r\n", "\n").strip("\n")
    lines = whole.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and _GREETING_LINE.match(lines[0]):
        lines.pop(0)
    for i in range(len(lines) - 1, max(-1, len(lines) - 5), -1):
        if _CLOSING_LINE.match(lines[i]) and i > 0:
            lines = lines[:i]
            break
    if lines:  # "Dear Liis, the charge ..." / "... in 5 days. Kind regards, Alice" typed on one line
        first, greeted = _INLINE_GREETING.subn("", lines[0], count=1)
        lines[0] = first[:1].upper() + first[1:] if greeted else first
        lines[-1] = _INLINE_CLOSING.sub("", lines[-1], count=1)
    body = "\n".join(lines).strip("\n")
    return body if body.strip() else whole  # nothing but a greeting: kept as written


def customer_date(cal: BusinessCalendar, instant: datetime | None) -> str:
    """A deadline in the customer's terms: the desk-local day, e.g.
    'Tuesday 22 December 2026' (deadlines end with that local day); worded
    in the customer's language when rendered."""
    if instant is None:
        return Localized("as soon as possible", "asap")
    d = cal.local_date(instant)
    return Localized(f"{d.strftime('%A')} {d.day} {d.strftime('%B %Y')}", "date", date=d)
