"""The data model (SQLModel tables and enums). No Textual, no business rules.

A table is defined when its name is first used (`from models import Ticket`),
with the tables its foreign keys name (each model module imports those): the
console's start defines the few its first screen reads, not all of them
(~20 ms). `load_all()` defines every table, for what needs the whole schema
on SQLModel.metadata (Alembic's environment, the demo builder, the schema test).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import models.pydantic_build  # noqa: F401 - first: the models below are defined with its setting
from models.tables import stored_id, table_of

if TYPE_CHECKING:
    from models.customer import Customer, Order, OrderHistory
    from models.desk import DeskSetting, ReferenceCounter
    from models.draft import Draft
    from models.history import TicketEvent
    from models.message import Attachment, Message
    from models.presence import Presence
    from models.quarantine import Quarantine
    from models.refund import RefundCase
    from models.seen import TicketSeen
    from models.staff import Staff
    from models.ticket import Ticket
    from models.wall_daily import WallDaily
    from models.wall_tally import WallTally

# each table model's name and the module that defines it
_TABLES = {
    "Attachment": "models.message",
    "Customer": "models.customer",
    "DeskSetting": "models.desk",
    "Draft": "models.draft",
    "Message": "models.message",
    "Order": "models.customer",
    "OrderHistory": "models.customer",
    "Presence": "models.presence",
    "Quarantine": "models.quarantine",
    "ReferenceCounter": "models.desk",
    "RefundCase": "models.refund",
    "Staff": "models.staff",
    "Ticket": "models.ticket",
    "TicketEvent": "models.history",
    "TicketSeen": "models.seen",
    "WallDaily": "models.wall_daily",
    "WallTally": "models.wall_tally",
}

__all__ = [
    "Attachment",
    "Customer",
    "DeskSetting",
    "Draft",
    "Message",
    "Order",
    "OrderHistory",
    "Presence",
    "Quarantine",
    "ReferenceCounter",
    "RefundCase",
    "Staff",
    "Ticket",
    "TicketEvent",
    "TicketSeen",
    "WallDaily",
    "WallTally",
    "load_all",
    "stored_id",
    "table_of",
]


def __getattr__(name: str) -> Any:
    """A table model, defined (its module imported) on first use."""
    module = _TABLES.get(name)
    if module is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    model = getattr(importlib.import_module(module), name)
    globals()[name] = model
    return model


def __dir__() -> list[str]:
    return sorted({*globals(), *_TABLES})


def load_all() -> None:
    """Every table defined, on SQLModel.metadata."""
    for name in _TABLES:
        __getattr__(name)
