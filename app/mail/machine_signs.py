"""The signs that a message comes from a machine, so that it gets no
automatic answer and opens no ticket (app.mail.machines routes it).

RFC 3834 asks responders to say so in their headers (Auto-Submitted), and
most do; the rest are known by the other marks real responders leave:
Precedence and the X-Autoreply family, an empty Return-Path (a bounce),
Exchange's out-of-office pair (X-Auto-Response-Suppress with
X-MS-Exchange-Inbox-Rules-Loop), a sender that cannot read a reply
(mailer-daemon, postmaster, no-reply), a subject that starts as the common
responders start theirs ("Automatic reply:", "Out of Office:", "Auto:"),
and the desk's own address (its mail come back: a loop).

Each sign gives the reason a person reads in the quarantine or the
ticket's history, naming the header or the words that gave it away.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.config import DeskConfig

_BULK_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
_FLAG_HEADERS = ("X-Autoreply", "X-Autorespond", "List-Id")
# local parts of senders nobody reads: bounces and "do not reply" addresses (any separator, any suffix)
_MACHINE_SENDER = re.compile(
    r"(mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?)([-_.+].*)?", re.IGNORECASE
)
# what auto-responders put before the original subject (English, German, French, Spanish,
# Italian, Finnish, Estonian, Scandinavian), up to its colon; only at the start
_RESPONDER_SUBJECT = re.compile(
    r"\s*(out of (the )?office( auto-?reply)?|automatic reply|auto[- ]?reply|autoreply|auto|abwesenheitsnotiz"
    r"|automatische antwort|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica"
    r"|automaattinen vastaus|automaatne vastus|autosvar|automatisk svar)\s*:",
    re.IGNORECASE,
)


def machine_mail(
    header: Callable[[str], str | None], content_type: str, from_addr: str | None, subject: str
) -> str | None:
    """Why a message comes from a machine (the header or words that say so),
    or None for a person's mail. `header(name)` is the raw header's value."""
    auto = header("auto-submitted")
    if auto is not None and auto.split(";")[0].strip().lower() not in ("no", ""):
        return f"Auto-Submitted: {' '.join(auto.split())[:40]}"
    precedence = (header("precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in _FLAG_HEADERS:
        if header(name) is not None:
            return name
    suppress = (header("x-auto-response-suppress") or "").lower()
    if ("all" in suppress or "oof" in suppress) and header("x-ms-exchange-inbox-rules-loop") is not None:
        return "X-Auto-Response-Suppress"  # Exchange's out-of-office reply
    return_path = header("return-path")
    if return_path is not None and return_path.strip().strip("<>").strip() == "":
        return "Return-Path: <>"
    local = (from_addr or "").rpartition("@")[0]
    if _MACHINE_SENDER.fullmatch(local):
        return f"From: {local.lower()}"
    if content_type == "multipart/report":
        return "multipart/report"
    said = _RESPONDER_SUBJECT.match(subject)
    if said:
        return f"Subject: {' '.join(said.group(0).split())}"
    return None


def from_this_desk(from_addr: str | None, config: DeskConfig) -> str | None:
    """The reason when a message comes from one of the desk's own addresses
    (its own mail come back to it), else None."""
    sender = (from_addr or "").strip().lower()
    own = {config.desk_address, config.smtp.from_addr, config.desk.reply_to}
    if sender and sender in {a.strip().lower() for a in own if a}:
        return "From: this desk's own address"
    return None


__all__ = ["from_this_desk", "machine_mail"]
