"""Enumerations shared by the data model, the services and the screens.

Stored as plain strings (no database ENUM types), so adding a value needs no
schema migration on either engine.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    SENIOR = "senior"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class TicketKind(StrEnum):
    COMPLAINT = "complaint"
    ESCALATION = "escalation"
    REFUND = "refund"
    INQUIRY = "inquiry"


REFERENCE_PREFIX: dict[TicketKind, str] = {
    TicketKind.COMPLAINT: "CMP",
    TicketKind.ESCALATION: "ESC",
    TicketKind.REFUND: "RFD",
    TicketKind.INQUIRY: "INQ",
}


class TicketStatus(StrEnum):
    """Workflow states. Which kind may be in which state, and the legal moves
    between them, live in the workflow services (app/workflow/)."""

    SUBMITTED = "submitted"  # received, nothing done yet (all kinds)
    # complaint: the policy's 9 steps
    ACKNOWLEDGED = "acknowledged"
    INFORMATION_GATHERING = "information_gathering"
    INVESTIGATION = "investigation"
    RESOLUTION_PROPOSED = "resolution_proposed"
    RESOLUTION_COMMUNICATED = "resolution_communicated"
    ESCALATED = "escalated"
    # escalation
    IN_REVIEW = "in_review"
    # refund
    UNDER_REVIEW = "under_review"
    DECIDED = "decided"
    PROCESSING = "processing"
    # every kind ends here
    CLOSED = "closed"


OPEN_STATUSES: tuple[str, ...] = tuple(s.value for s in TicketStatus if s is not TicketStatus.CLOSED)


class CloseReason(StrEnum):
    ACCEPTED = "accepted"  # complaint step 7: customer satisfied
    FINAL_RESPONSE = "final_response"  # complaint/escalation step 9
    OUT_OF_SCOPE = "out_of_scope"
    REFUND_COMPLETED = "refund_completed"
    REFUND_DENIED = "refund_denied"
    REFERRED = "referred"
    ANSWERED = "answered"  # inquiry answered
    WITHDRAWN = "withdrawn"
    NO_REPLY = "no_reply"
    MERGED = "merged"  # joined another ticket of the same customer (app/workflow/merge.py)


class OutOfScope(StrEnum):
    """The complaints policy's five out-of-scope categories."""

    THIRD_PARTY_PLAN = "third_party_plan"
    HARDWARE = "hardware"
    PROVIDER_REFUND = "provider_refund"
    GENERAL_INQUIRY = "general_inquiry"
    MISINFORMATION = "misinformation"


class Region(StrEnum):
    """The seven regions of the complaints policy's service area."""

    NORTH_AMERICA = "north_america"
    EUROPE = "europe"
    SOUTHEAST_ASIA = "southeast_asia"
    AFRICA = "africa"
    SOUTH_AMERICA = "south_america"
    AUSTRALIA_NZ = "australia_nz"
    MIDDLE_EAST = "middle_east"


class CustomerType(StrEnum):
    END_USER = "end_user"
    BUSINESS = "business"
    END_CUSTOMER = "end_customer"  # bought through a reseller


class PaymentMethod(StrEnum):
    CARD = "card"
    PAYPAL = "paypal"
    GOOGLE_PAY = "google_pay"
    APPLE_PAY = "apple_pay"
    ALIPAY = "alipay"
    BANK_TRANSFER = "bank_transfer"
    AIRMONEY = "airmoney"
    AIRMONEY_PROMO = "airmoney_promo"
    CREDIT_POINTS = "credit_points"


class MessageKind(StrEnum):
    INBOUND = "inbound"  # from the customer
    OUTBOUND = "outbound"  # customer-facing reply (goes through the outbox)
    NOTE = "note"  # internal note, never sent


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # permanent failure, visible on ticket and dashboard


class QuarantineState(StrEnum):
    HELD = "held"
    RELEASED = "released"
    DISCARDED = "discarded"


class ClockState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"


class Clock(StrEnum):
    """The SLA clocks of the shared SLA clocks contract that live on a ticket."""

    ACKNOWLEDGMENT = "acknowledgment"
    RESOLUTION = "resolution"
    FINAL_RESPONSE = "final_response"
    REFUND_ACK = "refund_ack"
    REFUND_REVIEW = "refund_review"
    REFUND_INITIATION = "refund_initiation"
    # issue 17: every open refund has a running clock
    REFUND_DECISION = "refund_decision"  # decided, the decision still to be communicated (by the review deadline)
    REFUND_IN_ACCOUNT = (
        "refund_in_account"  # initiated, the money on its way (esimium 5.1: 15 bd; airalo 6.1.13: 30 days)
    )
