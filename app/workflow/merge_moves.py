"""What a merge moves from ticket B to ticket A (app/workflow/merge.py):
the earliest clocks and missing details, the mail (duplicates withdrawn),
the refund case, the drafts; and both histories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, CursorResult, delete, or_, select, update
from sqlmodel import Session, col

from app import history
from models import Draft, Message, RefundCase, Staff, Ticket
from models.enums import CloseReason, DeliveryState, MessageKind, TicketKind, TicketStatus
from models.tables import stored_id

S = TicketStatus
K = TicketKind

# mail that only repeats what the surviving ticket already sent or queued
DUPLICATE_TEMPLATES = frozenset({"acknowledgment", "refund_acknowledgment", "refund_order_number"})
# the clocks' instants A takes the earliest of
EARLIEST = ("received_at", "ack_due_at", "acknowledged_at", "resolution_due_at", "review_due_at")
FILLED = ("order_id", "order_number", "region", "incident_date")


@dataclass(frozen=True)
class MergeResult:
    """What a merge did (references; no customer text)."""

    merged: str  # B, now closed and leading to A
    into: str  # A
    messages: int  # inbound and outbound mail moved
    notes: int
    withdrawn: tuple[str, ...] = ()  # templates of B's queued mail withdrawn as duplicates
    drafts_moved: int = 0
    drafts_dropped: tuple[str, ...] = ()  # "login: kind" of drafts dropped (A had one)
    changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # A's field -> (before, after)

    def summary(self) -> str:
        """One line for a person (the console's notice)."""
        parts = [f"{self.merged} merged into {self.into}: {self.messages} mail and {self.notes} notes moved"]
        if self.withdrawn:
            parts.append(
                f"{len(self.withdrawn)} duplicate mail withdrawn ({', '.join(t.replace('_', ' ') for t in self.withdrawn)})"
            )
        if self.drafts_dropped:
            parts.append("draft dropped: " + ", ".join(self.drafts_dropped))
        return "; ".join(parts)

    def as_json(self) -> dict[str, object]:
        return {
            "merged": self.merged,
            "into": self.into,
            "messages": self.messages,
            "notes": self.notes,
            "withdrawn": list(self.withdrawn),
            "drafts_moved": self.drafts_moved,
            "drafts_dropped": list(self.drafts_dropped),
            "changed": {k: {"before": v[0], "after": v[1]} for k, v in self.changed.items()},
        }


# -- the steps ---------------------------------------------------------------------------
def _unclaimed(now: datetime) -> ColumnElement[bool]:
    """Queued mail no sender has claimed (a claim pushes next_attempt_at past now and past the hold)."""
    next_at = col(Message.next_attempt_at)
    return (
        (col(Message.kind) == MessageKind.OUTBOUND.value)
        & (col(Message.delivery) == DeliveryState.QUEUED.value)
        & (col(Message.attempts) == 0)
        & or_(
            next_at.is_(None),
            next_at <= now,
            col(Message.hold_until).is_not(None) & (next_at <= col(Message.hold_until)),
        )
    )


def _iso(v: object) -> str | None:
    return v.isoformat() if isinstance(v, datetime) else (None if v is None else str(v))


def _earlier(x: datetime | None, y: datetime | None) -> datetime | None:
    if x is None or y is None:
        return x or y
    return min(x, y)


def take_over(
    session: Session, a: Ticket, b: Ticket, login: str, now: datetime
) -> dict[str, tuple[str | None, str | None]]:
    """A takes B's earliest clock instants, its extensions, the higher
    priority, the details A lacks and B's assignee when A has none; returns
    A's changed fields (before, after)."""
    changed: dict[str, tuple[str | None, str | None]] = {}

    def set_(name: str, value: object) -> None:
        before = getattr(a, name)
        if before != value:
            changed[name] = (_iso(before), _iso(value))
            setattr(a, name, value)

    for name in EARLIEST:
        set_(name, _earlier(getattr(a, name), getattr(b, name)))
    if b.extensions:
        set_("extensions", (a.extensions or 0) + b.extensions)
    set_("priority", min(a.priority, b.priority))
    for name in FILLED:
        if getattr(a, name) in (None, "") and getattr(b, name) not in (None, ""):
            set_(name, getattr(b, name))
    if a.assignee_id is None and b.assignee_id is not None:
        a.assignee_id = b.assignee_id
        after = session.scalar(select(col(Staff.login)).where(col(Staff.id) == b.assignee_id))
        history.record(
            session,
            stored_id(a),
            login,
            "assign",
            now,
            a.status,
            a.status,
            before=None,
            after=after,
            merged=b.reference,
        )
    return changed


def move_mail(session: Session, a: Ticket, b: Ticket, login: str, now: datetime) -> tuple[list[str], int, int]:
    """B's queued mail that A already sent or queued is withdrawn (while still
    unclaimed), the rest moves to A; returns (withdrawn templates, mail moved, notes moved)."""
    a_templates = set(
        session.scalars(
            select(col(Message.template))
            .where(
                col(Message.ticket_id) == a.id,
                col(Message.kind) == MessageKind.OUTBOUND.value,
                col(Message.delivery) != DeliveryState.FAILED.value,
                col(Message.template).is_not(None),
            )
            .distinct()
        )
    )
    dupes = list(
        session.execute(
            select(col(Message.id), col(Message.template)).where(
                col(Message.ticket_id) == b.id,
                col(Message.template).in_(DUPLICATE_TEMPLATES & a_templates),
                _unclaimed(now),
            )
        ).all()
    )
    withdrawn: list[str] = []
    for mid, template in dupes:
        gone = session.execute(
            delete(Message).where(col(Message.id) == mid, _unclaimed(now)).execution_options(synchronize_session=False)
        )
        if isinstance(gone, CursorResult) and gone.rowcount == 1:
            withdrawn.append(template)
            history.record(
                session,
                stored_id(b),
                login,
                "mail_recalled",
                now,
                b.status,
                b.status,
                message=mid,
                template=template,
                reason=f"{a.reference} already sent or queued it (merge)",
            )
    kinds = list(session.scalars(select(col(Message.kind)).where(col(Message.ticket_id) == b.id)))
    notes = kinds.count(MessageKind.NOTE.value)
    session.execute(
        update(Message)
        .where(col(Message.ticket_id) == b.id)
        .values(ticket_id=a.id)
        .execution_options(synchronize_session=False)
    )
    return withdrawn, len(kinds) - notes, notes


def move_refund_case(session: Session, a: Ticket, b: Ticket) -> None:
    """B's refund case goes to A when A has none."""
    if (
        b.kind == K.REFUND
        and a.kind == K.REFUND
        and session.scalar(select(col(RefundCase.id)).where(col(RefundCase.ticket_id) == a.id)) is None
    ):
        session.execute(
            update(RefundCase)
            .where(col(RefundCase.ticket_id) == b.id)
            .values(ticket_id=a.id)
            .execution_options(synchronize_session=False)
        )


def move_drafts(session: Session, a: Ticket, b: Ticket) -> tuple[int, list[str]]:
    """B's drafts move to A, or are dropped where the same person drafts the
    same kind on A; returns (moved, "login: kind" of those dropped)."""
    taken = set(session.execute(select(col(Draft.staff_id), col(Draft.kind)).where(col(Draft.ticket_id) == a.id)).all())
    logins: dict[int | None, str] = dict(session.execute(select(col(Staff.id), col(Staff.login))).all())
    moved, dropped = 0, []
    for did, staff_id, kind in session.execute(
        select(col(Draft.id), col(Draft.staff_id), col(Draft.kind)).where(col(Draft.ticket_id) == b.id)
    ).all():
        if (staff_id, kind) in taken:
            session.execute(delete(Draft).where(col(Draft.id) == did).execution_options(synchronize_session=False))
            dropped.append(f"{logins.get(staff_id, '?')}: {kind.replace('_', ' ')}")
        else:
            session.execute(
                update(Draft)
                .where(col(Draft.id) == did)
                .values(ticket_id=a.id)
                .execution_options(synchronize_session=False)
            )
            moved += 1
    return moved, dropped


def record_merge(
    session: Session, a: Ticket, b: Ticket, result: MergeResult, before: str, login: str, now: datetime
) -> None:
    """Both histories: B "merged_into" A (closed), A "merged" B with its changed clocks."""
    detail = {
        "messages": result.messages,
        "notes": result.notes,
        "withdrawn": list(result.withdrawn) or None,
        "drafts_moved": result.drafts_moved or None,
        "drafts_dropped": list(result.drafts_dropped) or None,
    }
    given = {k: v for k, v in detail.items() if v is not None}
    history.record(
        session,
        stored_id(b),
        login,
        "merged_into",
        now,
        before,
        b.status,
        into=a.reference,
        close_reason=CloseReason.MERGED.value,
        **given,
    )
    history.record(
        session,
        stored_id(a),
        login,
        "merged",
        now,
        a.status,
        a.status,
        merged=b.reference,
        clocks={k: {"before": v[0], "after": v[1]} for k, v in result.changed.items()} or None,
        **given,
    )
