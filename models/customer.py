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
    language: str | None = Field(default=None, max_length=8)  # the mail's language (Content-Language or detected); staff may edit


class Order(SQLModel, table=True):
    __tablename__ = "esim_order"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)  # ORD-XXXXXXXXXX-XXXX
    customer_id: int = Field(foreign_key="customer.id", index=True)
    brand: str = Field(default="esimium", max_length=16)  # the refund policy set that governs it
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
