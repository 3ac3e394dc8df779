"""Mail from machines (RFC 3834): auto-replies, list mail, delivery reports.

Such a message never gets an automatic answer and never opens a complaint,
refund or inquiry. It joins the ticket it answers, as an automatic reply (no
clock moves, no customer reply is recorded): found by its thread headers
(In-Reply-To/References naming one of the desk's messages), or by a quoted
reference when it comes from that ticket's customer. A delivery status
notification (bounce) marks the desk's message it reports on as bounced
(`Message.bounced_at`, event "bounced", the ticket's queue marker). Anything
else is quarantined ("automatic reply: <the header that says so>").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from app import history
from app.mail.parse import ParsedMessage
from app.mail.route import Intent
from app.prepared import Prepared
from models import Customer, Message, Ticket, table_of
from models.enums import MessageKind

AUTO_REPLY, DELIVERY_REPORT = "auto_reply", "delivery_report"
BOUNCED = "bounced"

_M, _T, _C = table_of(Message), table_of(Ticket), table_of(Customer)
_INSERT_MESSAGE = Prepared.insert(_M, returning="id")
_OUR_MESSAGE = Prepared(
    select(_M.c.id, _M.c.ticket_id, _T.c.reference, _T.c.status)
    .join(_T, _T.c.id == _M.c.ticket_id)
    .where(_M.c.message_id == bindparam("mid"), _M.c.kind == MessageKind.OUTBOUND.value)
)
_LAST_OUTBOUND_TO = Prepared(
    select(_M.c.id, _M.c.ticket_id, _T.c.reference, _T.c.status)
    .join(_T, _T.c.id == _M.c.ticket_id)
    .where(
        _T.c.reference == bindparam("reference"),
        _M.c.kind == MessageKind.OUTBOUND.value,
        func.lower(_M.c.to_addr) == bindparam("to"),
    )
    .order_by(_M.c.created_at.desc(), _M.c.id.desc())
    .limit(1)
)
_TICKET = Prepared(
    select(_T.c.id, _T.c.reference, _T.c.status, func.lower(_C.c.email))
    .select_from(_T.outerjoin(_C, _C.c.id == _T.c.customer_id))
    .where(_T.c.reference == bindparam("reference"))
)
_TOUCH = Prepared(update(_T).where(_T.c.id == bindparam("tid")).values(version=_T.c.version + 1))
_FLAG = Prepared(
    update(_T).where(_T.c.id == bindparam("tid")).values(version=_T.c.version + 1, mail_flag=bindparam("flag"))
)
_BOUNCE = Prepared(
    update(_M)
    .where(_M.c.id == bindparam("mid"))
    .values(bounced_at=bindparam("now", type_=_M.c.bounced_at.type), last_error=bindparam("error"))
)


def route_machine_mail(
    session: Session,
    parsed: ParsedMessage,
    intent: Intent,
    row: dict[str, Any],
    *,
    thread: str | None,
    now: datetime,
) -> tuple[str, int | None, str, int | None]:
    """("linked", ticket id, reference, message id) when the message joined a
    ticket, else ("quarantined", None, reason, None)."""
    if parsed.report is not None:
        return _delivery_report(session, parsed, row, now=now)
    target = thread or _customers_reference(session, parsed, intent)
    if target is None:
        return "quarantined", None, f"automatic reply ({parsed.automatic})", None
    found = _TICKET.first(session, {"reference": target})
    if found is None:  # the thread named a ticket that is not (or no longer) here
        return "quarantined", None, f"automatic reply ({parsed.automatic})", None
    tid, reference, status, _email = found
    mid = _store(session, tid, row, AUTO_REPLY, now)
    history.record(session, tid, None, "automatic_reply", now, status, status, message_id=mid, why=parsed.automatic)
    _TOUCH.run(session, {"tid": tid})
    return "linked", tid, reference, mid


def _customers_reference(session: Session, parsed: ParsedMessage, intent: Intent) -> str | None:
    """The first quoted reference whose ticket belongs to the sender."""
    sender = (parsed.from_addr or "").strip().lower()
    for ref in intent.references:
        found = _TICKET.first(session, {"reference": ref})
        if found is not None and found[3] == sender:
            return str(found[1])
    return None


def _store(session: Session, ticket_id: int, row: dict[str, Any], automatic: str, now: datetime) -> int:
    return int(
        _INSERT_MESSAGE.scalar(
            session,
            {
                **row,
                "ticket_id": ticket_id,
                "kind": MessageKind.INBOUND.value,
                "automatic": automatic,
                "created_at": row.get("created_at") or now,
            },
        )
    )


def _delivery_report(
    session: Session, parsed: ParsedMessage, row: dict[str, Any], *, now: datetime
) -> tuple[str, int | None, str, int | None]:
    report = parsed.report
    assert report is not None  # the caller checked
    found = _OUR_MESSAGE.first(session, {"mid": report.original_message_id}) if report.original_message_id else None
    for recipient in report.recipients if found is None and report.ticket else ():
        found = found or _LAST_OUTBOUND_TO.first(session, {"reference": report.ticket, "to": recipient.lower()})
    if found is None:
        return "quarantined", None, "automatic reply (a delivery report about no message of this desk)", None
    out_id, tid, reference, status = found
    mid = _store(session, tid, row, DELIVERY_REPORT, now)
    if report.failed:
        error = "; ".join(x for x in (report.status, report.diagnostic) if x) or "delivery failed"
        _BOUNCE.run(session, {"mid": out_id, "now": now, "error": f"bounced: {error}"[:1000]})
        history.record(
            session,
            tid,
            None,
            BOUNCED,
            now,
            status,
            status,
            message=out_id,
            report_message_id=mid,
            status_code=report.status,
        )
        _FLAG.run(session, {"tid": tid, "flag": BOUNCED})
    else:
        history.record(
            session,
            tid,
            None,
            "delivery_report",
            now,
            status,
            status,
            message=out_id,
            report_message_id=mid,
            report_action=report.action,
        )
        _TOUCH.run(session, {"tid": tid})
    return "linked", tid, reference, mid
