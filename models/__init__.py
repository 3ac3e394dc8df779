"""The data model (SQLModel tables and enums). No Textual, no business rules."""

import models.pydantic_build  # noqa: F401 - first: the models below are defined with its setting
from models.customer import Customer, Order, OrderHistory
from models.desk import DeskSetting, Presence, ReferenceCounter
from models.draft import Draft
from models.history import TicketEvent
from models.message import Attachment, Message
from models.quarantine import Quarantine
from models.refund import RefundCase
from models.seen import TicketSeen
from models.staff import Staff
from models.tables import stored_id, table_of
from models.ticket import Ticket
from models.wall_daily import WallDaily
from models.wall_tally import WallTally

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
    "stored_id",
    "table_of",
]
