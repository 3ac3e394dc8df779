"""Correspondence: inbound mail, customer-facing replies (via the outbox) and
internal notes; attachments kept as evidence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary
from sqlmodel import Field, SQLModel

from models import ticket  # noqa: F401 - the tables its foreign keys name, defined first (models/__init__.py)
from models.enums import MessageKind


class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_ticket_created", "ticket_id", "created_at"),
        Index("ix_message_delivery", "delivery", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    kind: str = Field(default=MessageKind.INBOUND.value, max_length=16)
    message_id: str | None = Field(default=None, max_length=998, unique=True)  # RFC 5322 Message-ID
    dedupe_key: str | None = Field(default=None, max_length=64, unique=True)
    in_reply_to: str | None = Field(default=None, max_length=998)
    from_addr: str | None = Field(default=None, max_length=320)
    from_name: str | None = Field(default=None, max_length=300)
    to_addr: str | None = Field(default=None, max_length=320)
    subject: str = Field(default="", max_length=998)
    body: str = ""
    template: str | None = Field(default=None, max_length=48)
    author: str | None = Field(default=None, max_length=64)  # staff login for outbound/notes
    sent_at: datetime | None = None  # the Date header for inbound; accepted by SMTP for outbound
    created_at: datetime
    # outbound delivery (transactional outbox)
    delivery: str | None = Field(default=None, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    # mail from a machine (RFC 3834 auto-reply, delivery report): "auto_reply" | "delivery_report"; never a customer's reply
    automatic: str | None = Field(default=None, max_length=16)
    bounced_at: datetime | None = None  # outbound: a delivery failure report came back for it
    hold_until: datetime | None = None  # a person's mail: not sent before this, recallable until then


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str = Field(default="", max_length=500)
    content_type: str = Field(default="application/octet-stream", max_length=200)
    size: int = 0
    data: bytes | None = Field(default=None, sa_type=LargeBinary)
