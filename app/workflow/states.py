"""The legal moves of each ticket kind, as data (the policy's 9 steps).

Complaint (policy steps in brackets):
  submitted [1] -> acknowledged [2]                      acknowledge
  acknowledged -> information_gathering [3]              move / request_info
  acknowledged -> investigation [4]                      (information already complete)
  information_gathering <-> investigation                both ways: more facts may be needed
  investigation -> resolution_proposed [5]               propose
  resolution_proposed -> investigation                   proposal reworked
  resolution_proposed -> resolution_communicated [6]     communicate (message to customer)
  resolution_communicated -> closed (accepted | no_reply | withdrawn) [7]
  resolution_communicated -> escalated [8]               only by an escalation request
  escalated -> closed (final_response) [9]               only by the escalation's final response
  any open state before escalated -> closed (withdrawn)  the customer withdraws
  request_info (information request message) from acknowledged, information_gathering, investigation
Escalation: submitted -> in_review (reviewer takes/is assigned) -> closed (final_response).
Inquiry: submitted -> closed (answered | withdrawn | out_of_scope by triage); an inquiry,
  open or closed, may be reopened as a complaint (kind changes, status submitted).
A complaint still `submitted` may be triaged out of scope (it becomes an inquiry).
Refund tickets belong to the refund workflow (app/refunds); nothing here moves them.
"""

from __future__ import annotations

from app.errors import IllegalTransition
from models import Ticket
from models.enums import CloseReason, TicketKind, TicketStatus

S = TicketStatus
COMPLAINT_MOVES: dict[str, tuple[str, ...]] = {
    S.SUBMITTED: (S.ACKNOWLEDGED, S.CLOSED),
    S.ACKNOWLEDGED: (S.INFORMATION_GATHERING, S.INVESTIGATION, S.CLOSED),
    S.INFORMATION_GATHERING: (S.INVESTIGATION, S.CLOSED),
    S.INVESTIGATION: (S.INFORMATION_GATHERING, S.RESOLUTION_PROPOSED, S.CLOSED),
    S.RESOLUTION_PROPOSED: (S.INVESTIGATION, S.RESOLUTION_COMMUNICATED, S.CLOSED),
    S.RESOLUTION_COMMUNICATED: (S.CLOSED, S.ESCALATED),
    S.ESCALATED: (S.CLOSED,),
    S.CLOSED: (),
}
ESCALATION_MOVES: dict[str, tuple[str, ...]] = {S.SUBMITTED: (S.IN_REVIEW,), S.IN_REVIEW: (S.CLOSED,), S.CLOSED: ()}
INQUIRY_MOVES: dict[str, tuple[str, ...]] = {S.SUBMITTED: (S.CLOSED,), S.CLOSED: ()}
MOVES: dict[str, dict[str, tuple[str, ...]]] = {
    TicketKind.COMPLAINT: COMPLAINT_MOVES,
    TicketKind.ESCALATION: ESCALATION_MOVES,
    TicketKind.INQUIRY: INQUIRY_MOVES,
}
REQUEST_INFO_FROM: tuple[str, ...] = (S.ACKNOWLEDGED, S.INFORMATION_GATHERING, S.INVESTIGATION)

# which close reasons are legal from which state (by kind)
_COMPLAINT_OPEN_BEFORE_ESCALATION = (
    S.SUBMITTED,
    S.ACKNOWLEDGED,
    S.INFORMATION_GATHERING,
    S.INVESTIGATION,
    S.RESOLUTION_PROPOSED,
)
CLOSE_REASONS: dict[str, dict[str, tuple[str, ...]]] = {
    TicketKind.COMPLAINT: {
        **dict.fromkeys(_COMPLAINT_OPEN_BEFORE_ESCALATION, (CloseReason.WITHDRAWN,)),
        S.RESOLUTION_COMMUNICATED: (CloseReason.ACCEPTED, CloseReason.NO_REPLY, CloseReason.WITHDRAWN),
        S.ESCALATED: (CloseReason.FINAL_RESPONSE,),
    },
    TicketKind.ESCALATION: {S.IN_REVIEW: (CloseReason.FINAL_RESPONSE,)},
    TicketKind.INQUIRY: {S.SUBMITTED: (CloseReason.ANSWERED, CloseReason.WITHDRAWN, CloseReason.OUT_OF_SCOPE)},
}
# close reasons only a dedicated service may set (not `close`)
SERVICE_ONLY_REASONS = {
    CloseReason.FINAL_RESPONSE: "final_response",
    CloseReason.OUT_OF_SCOPE: "triage",
    CloseReason.MERGED: "merge",
}


def allowed(t: Ticket) -> tuple[str, ...]:
    return MOVES.get(t.kind, {}).get(t.status, ())


def check_move(t: Ticket, to: str) -> None:
    """IllegalTransition naming the current state and the allowed moves."""
    if t.kind not in MOVES:
        raise IllegalTransition(f"{t.reference} is a {t.kind} ticket; its states are moved by the {t.kind} workflow")
    if to not in {s.value for s in TicketStatus}:
        raise IllegalTransition(f"unknown status {to!r}")
    ok = allowed(t)
    if to not in ok:
        raise IllegalTransition(
            f"{t.reference} ({t.kind}) is {t.status}: cannot move to {to}; allowed: {', '.join(ok) if ok else 'nothing (final state)'}"
        )


def check_kind(t: Ticket, *kinds: str, doing: str) -> None:
    if t.kind not in kinds:
        raise IllegalTransition(f"{t.reference} is a {t.kind} ticket: cannot {doing} (only {' or '.join(kinds)})")


def check_close(t: Ticket, reason: str) -> None:
    if reason not in {r.value for r in CloseReason}:
        raise IllegalTransition(f"unknown close reason {reason!r} (one of: {', '.join(r.value for r in CloseReason)})")
    ok = CLOSE_REASONS.get(t.kind, {}).get(t.status, ())
    if reason not in ok:
        raise IllegalTransition(
            f"{t.reference} ({t.kind}) is {t.status}: cannot close as {reason}; allowed: {', '.join(ok) if ok else 'none'}"
        )
