"""Words a person reads: the one place that turns stored names (states,
kinds, close reasons, event actions) and instants into what the screens,
help, toasts and timeline show. Nothing here is stored; unknown names fall
back to their words with underscores removed, never to a code name.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

STATUS = {
    "submitted": "new",
    "acknowledged": "acknowledged",
    "information_gathering": "waiting for information",
    "investigation": "investigating",
    "resolution_proposed": "resolution proposed",
    "resolution_communicated": "resolution sent",
    "escalated": "escalated",
    "in_review": "in review",
    "under_review": "being reviewed",
    "decided": "decided",
    "processing": "refund in progress",
    "closed": "closed",
}

KIND = {"complaint": "complaint", "escalation": "escalation", "refund": "refund request", "inquiry": "inquiry"}

CLOSE_REASON = {
    "accepted": "the customer accepted the resolution",
    "final_response": "final response given",
    "out_of_scope": "out of scope",
    "refund_completed": "refund completed",
    "refund_denied": "refund denied",
    "referred": "referred elsewhere",
    "answered": "answered",
    "withdrawn": "withdrawn by the customer",
    "no_reply": "no reply from the customer",
    "merged": "merged into another ticket",
}

EVENT = {
    "created": "created",
    "acknowledged": "acknowledged",
    "assign": "assigned",
    "note": "internal note",
    "reply": "mail",
    "status": "moved",
    "closed": "closed",
    "extend": "deadline extended",
    "escalated": "escalated",
    "review_taken": "review taken",
    "final_response": "final response",
    "information_requested": "information requested",
    "info_requested": "information requested",
    "pause": "clock paused",
    "resume": "clock resumed",
    "field": "details changed",
    "refused": "refused",
    "delivery_failed": "mail could not be delivered",
    "mail_recalled": "mail taken back before sending",
    "decided": "refund decided",
    "approved": "refund approved",
    "facts": "refund facts recorded",
    "order_linked": "order linked",
    "released_from_quarantine": "released from quarantine",
    "attachment_not_stored": "attachment too large, not stored",
    "anonymised": "personal data removed",
    "triage": "triaged out of scope",
    "merged": "ticket merged in",
    "merged_into": "merged into another ticket",
    "draft_dropped": "draft dropped in a merge",
}

DELIVERY = {"queued": "waiting to be sent", "sent": "sent", "failed": "could not be delivered"}


# the policy's end customer bought through a reseller (app.refunds.predicates)
CUSTOMER_TYPE = {"end_customer": "end customer (via a reseller)"}


def customer_type(name: str | None) -> str:
    return CUSTOMER_TYPE.get(name or "", words(name))


def words(name: str | None) -> str:
    return (name or "").replace("_", " ")


def status(name: str | None) -> str:
    return STATUS.get(name or "", words(name))


def kind(name: str | None) -> str:
    return KIND.get(name or "", words(name))


def close_reason(name: str | None) -> str:
    return CLOSE_REASON.get(name or "", words(name))


def event(name: str | None) -> str:
    return EVENT.get(name or "", words(name))


def delivery(name: str | None) -> str:
    return DELIVERY.get(name or "", words(name))


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 ticket', '2 tickets', '1,204 tickets'."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


_DAY = "%a %d %b %Y"  # a day as every screen writes it: 'Wed 02 Dec 2026'


def day(d: date | str | None) -> str:
    """A local day (a date, or its ISO form as policy timelines store it) as a
    person reads it: 'Wed 02 Dec 2026'."""
    if not d:
        return ""
    return (date.fromisoformat(d) if isinstance(d, str) else d).strftime(_DAY)


def local_day(at: datetime | None, tz: ZoneInfo | str) -> str:
    """The desk-local day of an instant: 'Sat 14 Nov 2026'."""
    return day(_local(at, tz).date()) if at is not None else ""


def local_time(at: datetime | None, tz: ZoneInfo | str, *, year: bool = True) -> str:
    """An instant in desk-local time with its weekday, as the header shows it:
    'Mon 23 Nov 2026 12:00' (no UTC instants on screen)."""
    if at is None:
        return ""
    return _local(at, tz).strftime(f"{_DAY} %H:%M" if year else "%a %d %b %H:%M")


def _local(at: datetime, tz: ZoneInfo | str) -> datetime:
    return at.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)


_RAW = re.compile(
    r"\b(" + "|".join(sorted({k for k in (*STATUS, *CLOSE_REASON) if "_" in k}, key=len, reverse=True)) + r")\b"
)


def in_words(text: str) -> str:
    """A service's message for a person: stored state and reason names in its
    words replaced by their labels ('is information_gathering' -> 'is waiting for information')."""
    return _RAW.sub(lambda m: STATUS.get(m.group(1)) or CLOSE_REASON.get(m.group(1)) or words(m.group(1)), text)
