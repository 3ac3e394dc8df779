"""The ticket: one complaint, escalation, refund case or inquiry.

Every clock's start and due instant is stored here when it starts, so the
queue can sort and filter by deadline in SQL; `due_at` is the deadline of the
clock that governs the ticket now (null when no clock runs).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models import customer, staff  # noqa: F401 - the tables its foreign keys name, defined first (models/__init__.py)
from models.enums import TicketStatus


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        # the queue walks these in (due_at, id) order (migration 0022: PostgreSQL's need the id)
        Index("ix_ticket_status_due", "status", "due_at", "id"),
        Index("ix_ticket_kind_status_due", "kind", "status", "due_at", "id"),
        Index("ix_ticket_assignee_status_due", "assignee_id", "status", "due_at", "id"),
        Index("ix_ticket_status_received", "status", "received_at"),
        # the wall (app/dashboard_queries.py): its lists walk due_at in order,
        # paused clocks are few, received/closed per day are range counts; the
        # queue's filter walks it testing a reference prefix (migration 0025)
        Index("ix_ticket_due_at", "due_at", "id", "reference"),
        Index("ix_ticket_paused_since", "paused_since"),
        Index("ix_ticket_received_at", "received_at"),
        Index("ix_ticket_closed_at", "closed_at"),
        # the queue's unassigned and out-of-scope views, walked in due order: partial indexes, their WHERE in
        # migration 0019 alone (a dialect's `*_where` here would import both engines' SQLAlchemy dialects)
        Index("ix_ticket_unassigned_due", "due_at", "id"),
        Index("ix_ticket_out_of_scope_due", "due_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=24, unique=True, index=True)
    kind: str = Field(max_length=16, index=True)
    status: str = Field(default=TicketStatus.SUBMITTED.value, max_length=32, index=True)
    subject: str = Field(default="", max_length=500)
    description: str | None = None
    brand: str | None = Field(default=None, max_length=16)  # refund policy id for refunds
    priority: int = 2  # 1 high, 2 normal, 3 low
    region: str | None = Field(default=None, max_length=24)
    incident_date: str | None = Field(default=None, max_length=32)  # as the customer gave it
    inquiry_reference: str | None = Field(default=None, max_length=64)
    info_needed: str | None = Field(default=None, max_length=200)  # comma list of missing intake fields
    out_of_scope: str | None = Field(default=None, max_length=24)
    close_reason: str | None = Field(default=None, max_length=24)

    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="esim_order.id", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="staff.id")
    reviewer_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    escalation_of_id: int | None = Field(default=None, foreign_key="ticket.id", unique=True)
    previous_id: int | None = None  # ticket.id of the closed ticket this one follows up (a soft link)
    # ticket.id of the open ticket this one was merged into (a soft link; app/workflow/merge.py): its reference leads there
    merged_into_id: int | None = Field(default=None, index=True)
    mail_flag: str | None = Field(default=None, max_length=16)  # queue marker: reopened | follow_up | bounced
    # the order number the customer quoted, kept whether or not the desk holds that order (the shared orders contract "Mail")
    order_number: str | None = Field(default=None, max_length=32, index=True)

    # clocks (all instants timezone-aware, stored as UTC)
    received_at: datetime
    ack_due_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolution_due_at: datetime | None = None
    resolution_communicated_at: datetime | None = None
    final_response_due_at: datetime | None = None
    final_response_at: datetime | None = None
    review_due_at: datetime | None = None
    decided_at: datetime | None = None
    extensions: int = 0
    paused_since: datetime | None = None  # waiting on the customer
    due_at: datetime | None = None  # the governing clock's deadline
    due_clock: str | None = Field(default=None, max_length=24)
    closed_at: datetime | None = None

    # optimistic locking and change tracking
    version: int = 1
    created_at: datetime
    updated_at: datetime = Field(index=True)
    updated_by: str | None = Field(default=None, max_length=64)
