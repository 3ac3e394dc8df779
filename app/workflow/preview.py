"""The customer mail an action would queue, exactly as queued, before it is.

`mail_preview(desk, login, change)` runs the change — the very workflow
service the console is about to run, with the same arguments — in a
transaction that is always rolled back, and returns the outbound messages it
queued: subject, body (greeting, text, signature, every field filled by the
workflow's own rendering), recipient, and how long it would be held. No
second renderer: what is previewed is what `queue_message` stores.
A refusal of the service (InputError, StaleTicket, ...) is raised as is, so
the person sees it before anything is queued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.untrusted import inert
from models import Message, Ticket
from models.enums import MessageKind

if TYPE_CHECKING:
    from app.db import Desk


@dataclass(frozen=True)
class MailPreview:
    """One message as the customer will read it (text made inert for a screen)."""

    reference: str
    to: str
    sender: str
    subject: str
    body: str
    template: str | None
    hold_seconds: float | None  # None: not held (sent on the next `outbox send`)


def mail_preview(
    desk: Desk, login: str, change: Callable[[Session, datetime], object], now: datetime
) -> list[MailPreview]:
    """The outbound mail `change(session, now)` would queue (by `login`); nothing is kept."""
    with Session(desk.engine, expire_on_commit=False) as session:
        try:
            before = session.scalar(select(func.max(col(Message.id)))) or 0
            change(session, now)
            session.flush()
            rows = session.execute(
                select(Message, col(Ticket.reference))
                .join(Ticket, col(Ticket.id) == col(Message.ticket_id))
                .where(
                    col(Message.id) > before,
                    col(Message.kind) == MessageKind.OUTBOUND.value,
                    col(Message.author) == login,
                )
                .order_by(col(Message.id))
            ).all()
            return [
                MailPreview(
                    reference=ref,
                    to=inert(m.to_addr, single_line=True),
                    sender=inert(m.from_addr, single_line=True),
                    subject=inert(m.subject, single_line=True),
                    body=inert(m.body),
                    template=m.template,
                    hold_seconds=(m.hold_until - now).total_seconds() if m.hold_until else None,
                )
                for m, ref in rows
            ]
        finally:
            session.rollback()
