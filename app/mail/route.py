"""Routing by subject and thread headers (the shared intake contract, "Routing by subject").

`classify` is pure: it reads the subject and says what the message asks for.
The ingest step then checks references against the database (a reference
that names no ticket is not a reply).

Order of the rules, first match wins:
1. `Escalation: <reference>` (after any Re:/Fwd: prefixes) -> escalation of that complaint;
2. a reply: its In-Reply-To/References name a message of a ticket, or the
   subject quotes a ticket reference (with a Re:/Fwd: prefix, or without one
   when the subject is not itself a new complaint or refund request) -> linked;
3. `Complaint` anywhere -> new complaint;
4. `Refund Request` anywhere -> refund case (order number from subject, else body);
5. anything else -> inquiry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.references import REFERENCE_RE

_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|sv|vs|antw|wg|tr|ref)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)
_ESCALATION = re.compile(r"^\s*escalation\s*[:：-]\s*\[?\s*((?:CMP|ESC|RFD|INQ)-\d{4}-\d{6,})\b", re.IGNORECASE)
_COMPLAINT = re.compile(r"complaint", re.IGNORECASE)
_REFUND = re.compile(r"refund\s+request", re.IGNORECASE)
ORDER_RE = re.compile(r"\bORD-\d{10}-[A-Z0-9]{4}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Intent:
    kind: str  # "escalation" | "complaint" | "refund" | "inquiry"
    escalates: str | None = None  # the complaint reference of an escalation request
    references: tuple[str, ...] = ()  # ticket references quoted in the subject
    is_reply: bool = False  # Re:/Fwd: prefix
    order_number: str | None = None


def strip_prefixes(subject: str) -> tuple[str, bool]:
    """The subject without Re:/Fwd: prefixes, and whether there were any."""
    m = _PREFIX.match(subject or "")
    if not m:
        return (subject or "").strip(), False
    return subject[m.end() :].strip(), True


def find_order_number(*texts: str | None) -> str | None:
    for text in texts:
        m = ORDER_RE.search(text or "")
        if m:
            return m.group(0).upper()
    return None


def classify(subject: str, body: str = "") -> Intent:
    core, is_reply = strip_prefixes(subject or "")
    refs = tuple(dict.fromkeys(m.group(0).upper() for m in REFERENCE_RE.finditer((subject or "").upper())))
    esc = _ESCALATION.match(core)
    if esc:
        return Intent("escalation", escalates=esc.group(1).upper(), references=refs, is_reply=is_reply)
    if _COMPLAINT.search(core):
        return Intent("complaint", references=refs, is_reply=is_reply)
    if _REFUND.search(core):
        return Intent("refund", references=refs, is_reply=is_reply, order_number=find_order_number(subject, body))
    return Intent("inquiry", references=refs, is_reply=is_reply)


def threads_by_subject(intent: Intent) -> bool:
    """Whether a known reference in the subject makes this a reply: always with
    a Re:/Fwd: prefix; without one only for subjects that ask for nothing new."""
    return bool(intent.references) and (intent.is_reply or intent.kind == "inquiry")
