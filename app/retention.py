"""Data retention: anonymise customers' personal data once their business is done.

The complaints policy promises personal data is used only to investigate and
resolve. A customer becomes due when every one of their tickets has been
closed for longer than the retention period (a customer without tickets: when
created that long ago). Then:

- the customer's name, e-mail and phone are replaced (a unique placeholder
  e-mail, `anonymised_at` set);
- on each of their tickets, the description, every message's body and the
  sender's/recipient's name and address are removed, attachment contents and
  names deleted, and raw quarantined mail linked to the ticket emptied;
- free text that stays (ticket and message subjects, event reasons and
  details, refund facts, quarantine reasons, the customer's own reference) is
  rewritten: the customer's name (and each part of it), e-mail, phone, and
  anything shaped like an e-mail address, a phone number or an identity
  number (passport, national id, IBAN, IMEI...) becomes `[removed]`; order
  numbers and ticket references stay (they carry the statistics).

Tickets themselves (references, kinds, states, clocks, outcomes), orders,
refund cases and the TicketEvent history stay: they hold no personal data and
carry the statistics. Each anonymised ticket gets one `anonymised` event.
`plan` only lists what would change (the dry run); `apply` does it in the
caller's transaction, `apply_in_batches` in short transactions of a few
customers each (consoles keep working; a run cut short is finished by the next).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, or_, select, update
from sqlmodel import Session, col

from app import history
from app.errors import InputError
from app.search import purge_removed
from app.tickets import touch
from models import Attachment, Customer, Draft, Message, Quarantine, RefundCase, Ticket, TicketEvent, stored_id
from models.enums import MessageKind, QuarantineState, TicketStatus

if TYPE_CHECKING:
    from app.db import Desk

REMOVED = "[removed under data retention]"
SCRUBBED = "[removed]"
BATCH_CUSTOMERS = 50

_KEEP = re.compile(
    r"\b(?:ORD-[A-Z0-9]+-[A-Z0-9]+|(?:CMP|ESC|RFD|INQ)-[0-9-]+)\b"
    r"|\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"  # dates, instants
)
# Kept as they are: order numbers, ticket references, dates and instants.
_PERSONAL = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # an e-mail address
    r"|\+?\d[\d ()./-]{5,}\d"  # a phone number (7+ digits with separators)
    r"|\b(?=[A-Z0-9-]*\d[A-Z0-9-]*\d[A-Z0-9-]*\d[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{4,}[A-Z0-9]\b",  # an id: 6+ chars, 4+ digits
    re.IGNORECASE,
)


def scrub_text(text: str | None, known: Iterable[str] = ()) -> str | None:
    """`text` with the person's `known` strings (name parts, e-mail, phone)
    and anything shaped like personal data replaced by [removed]."""
    if not text:
        return text
    kept: list[str] = []

    def _hold(m: re.Match[str]) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"

    out = _PERSONAL.sub(SCRUBBED, _KEEP.sub(_hold, text))
    for item in sorted({k for k in known if k and len(k) >= 3}, key=len, reverse=True):
        out = re.sub(re.escape(item), SCRUBBED, out, flags=re.IGNORECASE)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], out)


def _scrub_json(text: str | None, known: Iterable[str]) -> str | None:
    """A JSON document with every string in it scrubbed (still valid JSON)."""
    if not text:
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return scrub_text(text, known)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return scrub_text(v, known)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    return json.dumps(walk(data), default=str, sort_keys=True)


def known_personal(name: str | None, email: str | None, phone: str | None) -> list[str]:
    """The strings that identify this customer: full name and its parts,
    e-mail and its local part, phone as stored and as bare digits."""
    out = []
    if name:
        out.append(name)
        out.extend(re.split(r"[\s,.]+", name))
    if email:
        out.append(email)
        out.append(email.partition("@")[0])
    if phone:
        out.append(phone)
        digits = re.sub(r"\D", "", phone)
        out.append(digits)
    return [x for x in out if x and len(x) >= 3]


def placeholder_email(customer_id: int) -> str:
    return f"anonymised-{customer_id}@anonymised.invalid"


def placeholder_name(customer_id: int) -> str:
    return f"Anonymised customer {customer_id}"


@dataclass
class CustomerPlan:
    customer_id: int
    tickets: list[str] = field(default_factory=list)
    messages: int = 0
    attachments: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "tickets": self.tickets,
            "messages": self.messages,
            "attachments": self.attachments,
        }


@dataclass
class RetentionPlan:
    older_than_days: int
    cutoff: datetime
    customers: list[CustomerPlan] = field(default_factory=list)
    orphan_tickets: list[str] = field(default_factory=list)  # closed tickets with no customer record
    applied: bool = False

    @property
    def ticket_count(self) -> int:
        return sum(len(c.tickets) for c in self.customers) + len(self.orphan_tickets)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": "applied" if self.applied else "dry-run",
            "older_than_days": self.older_than_days,
            "cutoff": self.cutoff.isoformat(timespec="seconds"),
            "customers": len(self.customers),
            "tickets": self.ticket_count,
            "messages": sum(c.messages for c in self.customers) + self._orphan_messages,
            "attachments": sum(c.attachments for c in self.customers) + self._orphan_attachments,
            "changes": [c.as_dict() for c in self.customers],
            "tickets_without_customer": self.orphan_tickets,
        }

    _orphan_messages: int = 0
    _orphan_attachments: int = 0


def _closed_before(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        col(Ticket.status) == TicketStatus.CLOSED.value,
        col(Ticket.closed_at).is_not(None),
        col(Ticket.closed_at) < cutoff,
    )


def plan(session: Session, older_than_days: int, now: datetime) -> RetentionPlan:
    """What `apply` would anonymise (nothing is changed)."""
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) or older_than_days < 1:
        raise InputError(f"--older-than must be a whole number of days, at least 1 (got {older_than_days!r})")
    if now.tzinfo is None:
        raise InputError("now must be timezone-aware")
    cutoff = now - timedelta(days=older_than_days)
    result = RetentionPlan(older_than_days=older_than_days, cutoff=cutoff)

    not_done = exists().where(col(Ticket.customer_id) == col(Customer.id), not_(_closed_before(cutoff)))
    any_ticket = exists().where(col(Ticket.customer_id) == col(Customer.id))
    due = (
        select(col(Customer.id))
        .where(
            col(Customer.anonymised_at).is_(None),
            not_(not_done),
            or_(any_ticket, col(Customer.created_at) < cutoff),
        )
        .order_by(col(Customer.id))
    )
    ids = [r[0] for r in session.execute(due)]
    by_id = {i: CustomerPlan(customer_id=i) for i in ids}
    if ids:
        for chunk in _chunks(ids):
            for cid, ref in session.execute(
                select(col(Ticket.customer_id), col(Ticket.reference))
                .where(col(Ticket.customer_id).in_(chunk))
                .order_by(col(Ticket.reference))
            ):
                by_id[cid].tickets.append(ref)
            msg_counts = (
                select(col(Ticket.customer_id), func.count(col(Message.id)))
                .join(Message, col(Message.ticket_id) == col(Ticket.id))
                .where(col(Ticket.customer_id).in_(chunk), _needs_scrub())
                .group_by(col(Ticket.customer_id))
            )
            for cid, n in session.execute(msg_counts):
                by_id[cid].messages = int(n)
            att_counts = (
                select(col(Ticket.customer_id), func.count(col(Attachment.id)))
                .join(Message, col(Message.ticket_id) == col(Ticket.id))
                .join(Attachment, col(Attachment.message_id) == col(Message.id))
                .where(col(Ticket.customer_id).in_(chunk), col(Attachment.data).is_not(None))
                .group_by(col(Ticket.customer_id))
            )
            for cid, n in session.execute(att_counts):
                by_id[cid].attachments = int(n)
    result.customers = [by_id[i] for i in ids]
    _plan_orphans(session, cutoff, result)
    return result


def _plan_orphans(session: Session, cutoff: datetime, result: RetentionPlan) -> None:
    """Closed tickets with no customer whose mail still holds personal data."""
    orphan_ids = [
        r[0]
        for r in session.execute(
            select(col(Ticket.id)).where(
                col(Ticket.customer_id).is_(None),
                _closed_before(cutoff),
                exists().where(col(Message.ticket_id) == col(Ticket.id), _needs_scrub()),
            )
        )
    ]
    if orphan_ids:
        result.orphan_tickets = [
            r[0]
            for r in session.execute(
                select(col(Ticket.reference)).where(col(Ticket.id).in_(orphan_ids)).order_by(col(Ticket.reference))
            )
        ]
        result._orphan_messages = int(
            session.scalar(
                select(func.count(col(Message.id))).where(col(Message.ticket_id).in_(orphan_ids), _needs_scrub())
            )
            or 0
        )
        result._orphan_attachments = int(
            session.scalar(
                select(func.count(col(Attachment.id)))
                .join(Message, col(Attachment.message_id) == col(Message.id))
                .where(col(Message.ticket_id).in_(orphan_ids), col(Attachment.data).is_not(None))
            )
            or 0
        )


def _needs_scrub() -> ColumnElement[bool]:
    """A message still holding something personal."""
    return or_(col(Message.body) != REMOVED, col(Message.from_addr).is_not(None), col(Message.from_name).is_not(None))


def _chunks(items: list[int], size: int = 500) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def apply(session: Session, older_than_days: int, now: datetime, actor: str | None = None) -> RetentionPlan:
    """Anonymise everything `plan` lists, inside the caller's transaction."""
    result = plan(session, older_than_days, now)
    _anonymise(session, result.customers, result.orphan_tickets, older_than_days, now, actor)
    if result.customers or result.orphan_tickets:
        purge_removed(session)
    result.applied = True
    return result


def apply_in_batches(
    desk: Desk, older_than_days: int, now: datetime, actor: str | None = None, batch: int = BATCH_CUSTOMERS
) -> RetentionPlan:
    """`apply` in short transactions of `batch` customers each, so the
    write lock (SQLite) or the row locks (PostgreSQL) are held briefly."""
    with desk.reader() as session:
        result = plan(session, older_than_days, now)
    batches: list[tuple[list[CustomerPlan], list[str]]] = [
        (result.customers[i : i + batch], []) for i in range(0, len(result.customers), batch)
    ]
    batches += [([], chunk) for chunk in _chunks_str(result.orphan_tickets, batch * 4)]
    for n, (customers, orphans) in enumerate(batches, 1):
        with desk.session() as session:
            _anonymise(session, customers, orphans, older_than_days, now, actor)
            if n == len(batches):  # the removed words leave the search index with the last batch
                purge_removed(session)
    result.applied = True
    return result


def _anonymise(
    session: Session,
    customers: list[CustomerPlan],
    orphan_refs: list[str],
    older_than_days: int,
    now: datetime,
    actor: str | None,
) -> None:
    known_by_ticket: dict[str, list[str]] = {}
    for c in customers:
        customer = session.get(Customer, c.customer_id)
        if customer is None:  # gone since the plan was made: nothing of it left to anonymise
            continue
        known = known_personal(customer.name, customer.email, customer.phone)
        for ref in c.tickets:
            known_by_ticket[ref] = known
        customer.name = placeholder_name(c.customer_id)
        customer.email = placeholder_email(c.customer_id)
        customer.phone = None
        customer.anonymised_at = now
    refs = [ref for c in customers for ref in c.tickets] + list(orphan_refs)
    for chunk in _chunks_str(refs):
        tickets = list(session.scalars(select(Ticket).where(col(Ticket.reference).in_(chunk))))
        ticket_ids = [stored_id(t) for t in tickets]
        for ticket in tickets:  # the senders' names and addresses, before they go
            known = known_by_ticket.setdefault(ticket.reference, [])
            for name, addr in session.execute(
                select(col(Message.from_name), col(Message.from_addr)).where(
                    col(Message.ticket_id) == ticket.id, col(Message.kind) == MessageKind.INBOUND.value
                )
            ):
                known.extend(known_personal(name, addr, None))
        # a colleague's unsent draft may quote the customer: it goes with the ticket's personal data
        session.execute(
            delete(Draft).where(col(Draft.ticket_id).in_(ticket_ids)).execution_options(synchronize_session=False)
        )
        message_ids = select(col(Message.id)).where(col(Message.ticket_id).in_(ticket_ids)).scalar_subquery()
        session.execute(
            update(Attachment)
            .where(col(Attachment.message_id).in_(message_ids))
            .values(data=None, filename="[removed]", size=0)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Message)
            .where(col(Message.ticket_id).in_(ticket_ids), col(Message.kind) == MessageKind.OUTBOUND.value)
            .values(to_addr=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Message)
            .where(col(Message.ticket_id).in_(ticket_ids))
            .values(body=REMOVED, from_addr=None, from_name=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Quarantine)
            .where(col(Quarantine.ticket_id).in_(ticket_ids), col(Quarantine.state) != QuarantineState.HELD.value)
            .values(raw=b"", source="")
            .execution_options(synchronize_session=False)
        )
        by_id = {stored_id(t): known_by_ticket.get(t.reference, []) for t in tickets}
        _scrub_free_text(session, by_id)
        for ticket in tickets:
            known = by_id[stored_id(ticket)]
            ticket.description = None
            ticket.subject = scrub_text(ticket.subject, known) or ""
            ticket.inquiry_reference = scrub_text(ticket.inquiry_reference, known)
            touch(ticket, actor, now)
            history.record(session, stored_id(ticket), actor, "anonymised", now, older_than_days=older_than_days)
    session.flush()


def _scrub_free_text(session: Session, known_by_ticket: dict[int, list[str]]) -> None:
    """Message subjects, event details, refund facts and quarantine reasons of
    these tickets, rewritten without the person in them."""
    ids = list(known_by_ticket)
    for mid, tid, subject in session.execute(
        select(col(Message.id), col(Message.ticket_id), col(Message.subject)).where(col(Message.ticket_id).in_(ids))
    ).all():
        new = scrub_text(subject, known_by_ticket[tid])
        if new != subject:
            session.execute(update(Message).where(col(Message.id) == mid).values(subject=new or ""))
    for eid, tid, detail in session.execute(
        select(col(TicketEvent.id), col(TicketEvent.ticket_id), col(TicketEvent.detail)).where(
            col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.detail).is_not(None)
        )
    ).all():
        new = _scrub_json(detail, known_by_ticket[tid])
        if new != detail:
            session.execute(update(TicketEvent).where(col(TicketEvent.id) == eid).values(detail=new))
    for rid, tid, facts, decision in session.execute(
        select(col(RefundCase.id), col(RefundCase.ticket_id), col(RefundCase.facts), col(RefundCase.decision)).where(
            col(RefundCase.ticket_id).in_(ids)
        )
    ).all():
        values = {
            "facts": _scrub_json(facts, known_by_ticket[tid]) or "{}",
            "decision": _scrub_json(decision, known_by_ticket[tid]),
        }
        if values != {"facts": facts, "decision": decision}:
            session.execute(update(RefundCase).where(col(RefundCase.id) == rid).values(**values))
    for qid, tid, reason in session.execute(
        select(col(Quarantine.id), col(Quarantine.ticket_id), col(Quarantine.reason)).where(
            col(Quarantine.ticket_id).in_(ids)
        )
    ).all():
        new = scrub_text(reason, known_by_ticket[tid])
        if new != reason:
            session.execute(update(Quarantine).where(col(Quarantine.id) == qid).values(reason=new or ""))


def _chunks_str(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


__all__ = [
    "REMOVED",
    "CustomerPlan",
    "RetentionPlan",
    "apply",
    "apply_in_batches",
    "placeholder_email",
    "placeholder_name",
    "plan",
    "scrub_text",
]
