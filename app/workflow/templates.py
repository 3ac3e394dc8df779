"""Customer-facing message templates (app/data/templates/*.txt).

Each file starts with a `Subject:` line, then the body. Placeholders are
`$name` (string.Template): values are substituted once and never re-parsed,
so customer text inside a value cannot inject anything. Every subject names
the ticket reference, so replies thread back to the ticket.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from string import Template

from app.business_calendar import BusinessCalendar
from app.errors import InputError
from models.enums import OutOfScope

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "data" / "templates"

ACKNOWLEDGMENT = "acknowledgment"
INFORMATION_REQUEST = "information_request"
PROGRESS_UPDATE = "progress_update"
PROPOSED_RESOLUTION = "proposed_resolution"
ESCALATION_ACKNOWLEDGMENT = "escalation_acknowledgment"
FINAL_RESPONSE = "final_response"
SECOND_ESCALATION = "second_escalation"
ESCALATION_NOT_POSSIBLE = "escalation_not_possible"


def out_of_scope_template(category: OutOfScope | str) -> str:
    return f"out_of_scope_{OutOfScope(category).value}"


@dataclass(frozen=True)
class Rendered:
    template: str
    subject: str
    body: str


@lru_cache(maxsize=64)
def _load(name: str) -> tuple[Template, Template]:
    path = TEMPLATE_DIR / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no message template {name!r}") from None
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise InputError(f"template {name!r} must start with a 'Subject:' line")
    return Template(first[len("Subject:"):].strip()), Template(body)


def names() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.txt"))


def render(name: str, **values: object) -> Rendered:
    """Fill template `name`; a placeholder without a value is an InputError."""
    subject_t, body_t = _load(name)
    vals = {k: "" if v is None else str(v) for k, v in values.items()}
    try:
        subject, body = subject_t.substitute(vals), body_t.substitute(vals)
    except KeyError as exc:
        raise InputError(f"template {name!r} needs a value for {exc.args[0]!r}") from None
    return Rendered(name, " ".join(subject.split()), body.strip() + "\n")


def customer_date(cal: BusinessCalendar, instant: datetime | None) -> str:
    """A deadline in the customer's terms: the desk-local day, e.g.
    'Tuesday 22 December 2026' (deadlines end with that local day)."""
    if instant is None:
        return "as soon as possible"
    d = cal.local_date(instant)
    return f"{d.strftime('%A')} {d.day} {d.strftime('%B %Y')}"
