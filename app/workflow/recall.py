"""Taking back a person's mail while it is still held in the outbox.

A customer-facing message queued by a staff member waits `[outbox]
hold_seconds` (Message.hold_until) before the sender may deliver it, when
it is a free reply (app.workflow.outbox.recallable: mail that carries a
workflow step is never held, since taking it back would leave the step
taken and the customer never told). Until then `recall` withdraws it: the row leaves the outbox (it is deleted; a
"mail_recalled" event keeps its subject and template on the ticket's
history) and its text is handed back so the person can edit and send again.

Recall and the sender never both win: the recall is one DELETE
guarded by "still queued, hold not over, not claimed by a sender" (a claim
pushes next_attempt_at past the hold), and the sender only claims rows whose
hold is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, or_, select
from sqlmodel import Session, col

from app import history, tickets
from app.errors import AccessDenied, InputError, NotFound
from app.identity import Actor
from app.workflow.guard import aware
from app.workflow.outbox import RECALLABLE_TEMPLATES
from app.workflow.templates import middle
from models import Message, Ticket, stored_id
from models.enums import DeliveryState, MessageKind


@dataclass(frozen=True)
class Recalled:
    """What was taken back: the text as it would have been sent."""

    id: int
    reference: str
    template: str | None
    subject: str
    body: str
    to: str | None


def _recallable(now: datetime) -> ColumnElement[bool]:
    return (
        (col(Message.kind) == MessageKind.OUTBOUND.value)
        & col(Message.template).in_(sorted(RECALLABLE_TEMPLATES))  # mail that carried a workflow step stays
        & (col(Message.delivery) == DeliveryState.QUEUED.value)
        & col(Message.hold_until).is_not(None)
        & (col(Message.hold_until) > now)
        & or_(
            col(Message.next_attempt_at).is_(None), col(Message.next_attempt_at) <= col(Message.hold_until)
        )  # not claimed
    )


def held(session: Session, ticket_id: int, now: datetime) -> list[Message]:
    """The ticket's messages that can still be recalled, newest first."""
    now = aware(now)
    return list(
        session.scalars(
            select(Message)
            .where(col(Message.ticket_id) == ticket_id, _recallable(now))
            .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        )
    )


def recall(session: Session, actor: Actor, message_id: int, *, now: datetime) -> Recalled:
    """Withdraw held message `message_id`; its text comes back. Refused once the
    hold is over, when it was sent or is being sent, or for someone else's mail
    (a team lead may recall anyone's)."""
    now = aware(now)
    actor.require("work_tickets", "recall customer mail")
    msg = session.get(Message, message_id)
    if msg is None or msg.kind != MessageKind.OUTBOUND.value:
        raise NotFound(f"no outgoing message {message_id}")
    if msg.author != actor.login and not actor.can("reassign"):
        raise AccessDenied(
            f"message {message_id} was written by {msg.author or 'the desk'}; only they or a team lead may recall it"
        )
    t = session.get(Ticket, msg.ticket_id)
    if t is None:  # a message always belongs to a ticket (foreign key)
        raise NotFound(f"no ticket for message {message_id}")
    out = Recalled(message_id, t.reference, msg.template, msg.subject, middle(msg.body), msg.to_addr)
    gone = cast(
        "CursorResult[Any]",
        session.execute(
            delete(Message)
            .where(col(Message.id) == message_id, _recallable(now))
            .execution_options(synchronize_session=False)
        ),
    )
    if gone.rowcount != 1:
        state = (
            "was already sent"
            if msg.delivery == DeliveryState.SENT.value
            else (
                "could not be delivered"
                if msg.delivery == DeliveryState.FAILED.value
                else "is no longer held (it is being sent)"
            )
        )
        raise InputError(f"message {message_id} to {t.reference} {state}; it cannot be recalled")
    session.expunge(msg)
    tickets.touch(t, actor.login, now)  # other consoles showing the ticket reload
    history.record(
        session,
        stored_id(t),
        actor.login,
        "mail_recalled",
        now,
        t.status,
        t.status,
        message=message_id,
        template=msg.template,
        subject=msg.subject,
    )
    return out


def recall_latest(session: Session, actor: Actor, reference: str, *, now: datetime) -> Recalled:
    """Recall the newest still-held message on ticket `reference` (the console's `u`)."""
    t = tickets.get(session, reference)
    mine = [m for m in held(session, stored_id(t), now) if m.author == actor.login or actor.can("reassign")]
    if not mine:
        raise InputError(f"{t.reference}: no mail of yours is still held; sent mail cannot be taken back")
    return recall(session, actor, stored_id(mine[0]), now=now)
