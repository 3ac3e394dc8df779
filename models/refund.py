"""RefundCase: the facts, the decision and the money's milestones."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric
from sqlmodel import Field, SQLModel

from models import ticket  # noqa: F401 - the tables its foreign keys name, defined first (models/__init__.py)


class RefundCase(SQLModel, table=True):
    __tablename__ = "refund_case"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    policy: str = Field(max_length=16)
    policy_version: str | None = Field(default=None, max_length=32)
    facts: str = "{}"  # JSON, the shared refund decision contract "Facts"
    decision: str | None = None  # JSON, the shared refund decision contract "Decision"
    outcome: str | None = Field(default=None, max_length=24, index=True)
    max_refund: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    currency: str | None = Field(default=None, max_length=3)
    refund_method: str | None = Field(default=None, max_length=32)
    alternative: str | None = Field(default=None, max_length=32)  # partial, store_credit, replacement, extended_support
    chargeback_filed: bool = False
    approved_at: datetime | None = None
    initiated_due_at: datetime | None = None
    initiated_at: datetime | None = None
    sent_to_processor_at: datetime | None = None
    expected_in_account_at: datetime | None = None
    completed_at: datetime | None = None
    # issue 17: what the approver decided on a case-by-case refund, the
    # 6.1.7 investigation finding (who, when, result), when the decision was sent
    approved_amount: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    processing_fee: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    investigation_by: str | None = Field(default=None, max_length=64)
    investigation_at: datetime | None = None
    investigation_result: str | None = Field(default=None, max_length=16)  # confirmed | not_confirmed
    investigation_note: str | None = None
    decision_sent_at: datetime | None = None
