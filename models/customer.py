"""Customers and their orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, text
from sqlmodel import Field, SQLModel

from models.enums import CustomerType, PaymentMethod


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    __table_args__ = (Index("ix_customer_email_lower", text("lower(email)")),)  # case-insensitive lookup (intake)

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=300)
    email: str = Field(max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=64)
    customer_type: str = Field(default=CustomerType.END_USER.value, max_length=16)
    created_at: datetime
    anonymised_at: datetime | None = None  # set by data retention
    language: str | None = Field(
        default=None, max_length=8
    )  # the mail's language (Content-Language or detected); staff may edit


class Order(SQLModel, table=True):
    __tablename__ = "esim_order"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)  # ORD-XXXXXXXXXX-XXXX
    customer_id: int = Field(foreign_key="customer.id", index=True)
    brand: str = Field(max_length=16)  # the refund policy that governs it (a policy file's id; no default here)
    purchased_at: datetime
    amount: Decimal = Field(sa_type=Numeric(12, 2))
    currency: str = Field(default="EUR", max_length=3)
    payment_method: str = Field(default=PaymentMethod.CARD.value, max_length=16)
    quantity: int = 1
    plan: str | None = Field(default=None, max_length=120)
    delivered_at: datetime | None = None
    installed: bool = False
    activated: bool = False
    data_used_mb: float = 0.0
    validity_days: int = 30
    # the shared orders contract (issue 19): what an import or a lookup brings
    customer_type: str | None = Field(default=None, max_length=16)
    validity_ends_at: datetime | None = None
    invoice_received_at: datetime | None = None
    reseller: str | None = Field(default=None, max_length=200)
    source: str | None = Field(
        default=None, max_length=16
    )  # import | lookup | demo; null: written before orders were imported
    refreshed_at: datetime | None = None  # when the shop's data last changed this row (import or lookup)
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})  # bumped by each update (order_history)
    content_hash: str | None = Field(default=None, max_length=64)  # of the imported fields: unchanged rows are skipped


class OrderHistory(SQLModel, table=True):
    """What an update of an order changed, one row per update: the fields'
    values before and after, so the facts known at any instant can be rebuilt
    (a refund's evidence shows what was known when it was decided)."""

    __tablename__ = "order_history"
    __table_args__ = (Index("ix_order_history_order_revision", "order_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="esim_order.id")
    revision: int  # the order's revision after this update
    at: datetime
    source: str = Field(max_length=16)  # import | lookup
    origin: str | None = Field(default=None, max_length=500)  # the file (and line) or the lookup command
    changes: str = "{}"  # JSON {field: [before, after]}
