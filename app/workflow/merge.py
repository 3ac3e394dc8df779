"""Merging two tickets of one customer: B joins A (`merge(…, reference=B, into=A)`).

A customer who writes twice about one matter (a second "Complaint" mail, a
new mail without the reference, a refund request sent again) gets one ticket,
not two colleagues answering twice. What happens, in one transaction:

- B's messages, internal notes and attachments move to A (the search index
  follows them: the database's triggers re-index both tickets in the same
  transaction, migration 0006); B's refund case moves when A has none.
- History is append-only, so B's events stay where they were written and are
  read with A's (app/history.py `of_ticket`): A's timeline shows them (marked
  with B's reference), B's handlers count as A's for the export and for the
  impartiality rule (a senior who touched B never reviews A's escalation).
  Each ticket gets one event: "merged" on A, "merged_into" on B, both with
  what moved and which clocks changed (before/after).
- B closes with the reason "merged" and `merged_into_id` = A: looking B's
  reference up anywhere lands on A (`tickets.resolve`: `ticket show`, the
  console's open and `/` filter, a customer's reply or escalation quoting B),
  and nothing changes B again (`tickets.lock` refuses, naming A). Tickets
  merged into B earlier now point at A (one hop, always).
- Drafts on B move to A; where the same person already drafts the same kind
  of text on A, B's draft is dropped and the result (and A's "merged" event,
  without the text) says whose.

The customer gets no duplicate mail: the merge itself sends nothing (their
reference B keeps working, it leads to A). B's queued mail that only repeats
what A already sent or queued (an acknowledgment, a refund acknowledgment,
the order-number question: DUPLICATE_TEMPLATES) is withdrawn while it is still
unclaimed by the sender (the same guard as a recall); any other queued mail
(a person's reply) moves to A and goes out as written. A acknowledges at most
once: it is never behind B (below), so an acknowledged B means an
acknowledged A.

Clocks (complaints policy, "Response Timeframes"): the acknowledgment is due
within 2 business days of *submission*, the resolution within 10 of
*acknowledgment*; every promise made to the customer under either reference
still binds. So A keeps the earliest receipt (`received_at`), the earliest
acknowledgment due date and acknowledgment instant, and the earliest
resolution / review due date of the two; extensions add up (each was a
progress message the customer got). The clocks are judged against those:
an earlier unanswered B can make A's acknowledgment late, which is the truth.
The same holds for an inquiry that joins a complaint (as reopening an inquiry
as a complaint keeps its receipt time) and for refund requests (esimium 4.2:
acknowledgment within 24 hours of the request, review in 3 business days).

What may be merged (anything else is refused with one line saying why):
- both open (a closed ticket is final, and retention may already have removed
  its personal data), neither already merged, two different tickets;
- the same customer;
- the same kind (complaint into complaint, refund request into refund
  request, inquiry into inquiry), or an inquiry into a complaint or refund
  request (mail that missed the reference; the policy keeps general
  inquiries out of the complaint process, so a complaint never becomes part
  of an inquiry: reopen the inquiry as a complaint first);
- no escalation on either side: an escalation is the complaint's one
  impartial review ("final internal review stage"), and a complaint under
  escalation keeps the case the reviewer was given;
- refund requests about the same order (or B has none), and B not decided: a
  decided refund is not merged away;
- B not further along the workflow than A (A's state stands, no step is
  undone and none is skipped): otherwise merge A into B.

Who may merge: anyone who works tickets, on tickets that are theirs or
unassigned; when either ticket is assigned to someone else, a supervisor
("reassign"), as for reassigning. A keeps its assignee; an unassigned A takes
B's. Priority: the more urgent of the two. Blank details of A (order, region,
incident date) are filled from B.

The rules and the merge's transaction are here; each thing it moves is a step
in app/workflow/merge_moves.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session, col

from app import tickets
from app.errors import AccessDenied, IllegalTransition, InputError
from app.identity import Actor
from app.workflow.guard import aware, finish
from app.workflow.merge_moves import (
    DUPLICATE_TEMPLATES,
    MergeResult,
    move_drafts,
    move_mail,
    move_refund_case,
    record_merge,
    take_over,
)
from models import Ticket
from models.enums import CloseReason, TicketKind, TicketStatus

S = TicketStatus
K = TicketKind

# how far along each kind's workflow a state is (information gathering and
# investigation go both ways: one step)
_RANK: dict[str, dict[str, int]] = {
    K.COMPLAINT: {
        S.SUBMITTED: 0,
        S.ACKNOWLEDGED: 1,
        S.INFORMATION_GATHERING: 2,
        S.INVESTIGATION: 2,
        S.RESOLUTION_PROPOSED: 3,
        S.RESOLUTION_COMMUNICATED: 4,
    },
    K.REFUND: {S.SUBMITTED: 0, S.UNDER_REVIEW: 1, S.DECIDED: 2, S.PROCESSING: 3},
    K.INQUIRY: {S.SUBMITTED: 0},
}
# which kinds may join which (B's kind -> A's kinds)
JOINS: dict[str, tuple[str, ...]] = {
    K.COMPLAINT: (K.COMPLAINT,),
    K.REFUND: (K.REFUND,),
    K.INQUIRY: (K.INQUIRY, K.COMPLAINT, K.REFUND),
}


# -- the rules ---------------------------------------------------------------------------
def _kind_words(kind: str) -> str:
    from app import labels

    return labels.kind(kind)


def problem(b: Ticket, a: Ticket, actor: Actor | None = None) -> str | None:
    """Why ticket `b` may not be merged into `a` (None when it may): one line."""
    if b.id == a.id:
        return f"{b.reference} cannot be merged into itself"
    for t in (b, a):
        if t.merged_into_id is not None:
            return f"{t.reference} was already merged into another ticket"
        if t.status == S.CLOSED:
            return f"{t.reference} is closed: only open tickets are merged"
        if t.kind == K.ESCALATION:
            return f"{t.reference} is an escalation: an escalation is never merged (it is the complaint's one impartial review)"
        if t.status == S.ESCALATED:
            return f"{t.reference} is escalated: its escalation reviews it as it is, so it is not merged either way"
    if b.customer_id is None or b.customer_id != a.customer_id:
        return f"{b.reference} and {a.reference} belong to different customers: only one customer's tickets are merged"
    if a.kind not in JOINS.get(b.kind, ()):
        return (
            f"{b.reference} is {_a(_kind_words(b.kind))} and {a.reference} {_a(_kind_words(a.kind))}: "
            f"{_a(_kind_words(b.kind))} joins only {' or '.join(_a(_kind_words(k)) for k in JOINS.get(b.kind, ()))}"
        )
    if b.kind == K.REFUND:
        if b.order_id is not None and a.order_id is not None and b.order_id != a.order_id:
            return (
                f"{b.reference} and {a.reference} are about different orders: each order's refund is decided on its own"
            )
        if b.decided_at is not None:
            return f"{b.reference} has a refund decision: a decided refund is not merged away (merge {a.reference} into it)"
    if b.kind == a.kind:
        rank = _RANK.get(b.kind, {})
        if rank.get(b.status, 0) > rank.get(a.status, 0):
            from app import labels

            return (
                f"{b.reference} is further along ({labels.status(b.status)}) than {a.reference} "
                f"({labels.status(a.status)}): merge {a.reference} into {b.reference} instead"
            )
    if actor is not None:
        return who_may(b, a, actor)
    return None


def _a(words: str) -> str:
    return ("an " if words[:1] in "aeiou" else "a ") + words


def who_may(b: Ticket, a: Ticket, actor: Actor) -> str | None:
    """Why `actor` may not merge these two (None when they may)."""
    if not actor.can("work_tickets"):
        return f"{actor.login} ({actor.role}) may not merge tickets"
    if actor.can("reassign"):
        return None
    for t in (b, a):
        if t.assignee_id is not None and t.assignee_id != actor.id:
            return f"{t.reference} is assigned to someone else: merging a colleague's ticket is for a supervisor"
    return None


@dataclass(frozen=True)
class Candidate:
    """A ticket the one shown could be merged into (customer text raw)."""

    reference: str
    kind: str
    status: str
    subject: str
    received_at: datetime


def candidates(session: Session, ticket: Ticket, actor: Actor) -> list[Candidate]:
    """The customer's other open tickets `ticket` may be merged into by
    `actor`, oldest first (the first mail is usually the one to keep)."""
    if not offered(ticket, actor):
        return []
    rows = session.scalars(
        select(Ticket)
        .where(
            col(Ticket.customer_id) == ticket.customer_id,
            col(Ticket.id) != ticket.id,
            col(Ticket.status) != S.CLOSED.value,
            col(Ticket.merged_into_id).is_(None),
            col(Ticket.kind).in_(JOINS.get(ticket.kind, ())),
        )
        .order_by(col(Ticket.received_at), col(Ticket.id))
        .limit(50)
    ).all()
    return [
        Candidate(a.reference, a.kind, a.status, a.subject or "", a.received_at)
        for a in rows
        if problem(ticket, a, actor) is None
    ]


def offered(ticket: Ticket, actor: Actor) -> bool:
    """Whether to offer merging `ticket` at all (the candidates decide the rest)."""
    return (
        actor.can("work_tickets")
        and ticket.status != S.CLOSED
        and ticket.kind in JOINS
        and ticket.status != S.ESCALATED
        and ticket.merged_into_id is None
        and ticket.customer_id is not None
    )


# -- the merge ---------------------------------------------------------------------------
def merge(
    session: Session,
    actor: Actor | None,
    reference: str,
    into: str,
    *,
    expected_version: int | None = None,
    into_version: int | None = None,
    now: datetime,
    config: object | None = None,
) -> MergeResult:
    """Merge ticket `reference` (B) into ticket `into` (A): see the module
    docstring. `expected_version` is B's version as read (the console's
    ticket), `into_version` A's when known; a stale one is refused."""
    now = aware(now)
    if actor is None:
        raise AccessDenied("merging tickets needs a staff member")
    actor.require("work_tickets", "merge tickets")
    ref_b, ref_a = str(reference or "").strip().upper(), str(into or "").strip().upper()
    if not ref_b or not ref_a:
        raise InputError("merging needs two ticket references: the one to merge and the one it joins")
    if ref_b == ref_a:
        raise InputError(f"{ref_b} cannot be merged into itself")
    # lock both in one order, so two merges of the same pair never wait on each other
    first, second = sorted([(ref_b, expected_version), (ref_a, into_version)])
    locked = {first[0]: tickets.lock(session, *first), second[0]: tickets.lock(session, *second)}
    b, a = locked[ref_b], locked[ref_a]
    why = problem(b, a, actor)
    if why is not None:
        raise (AccessDenied if why == who_may(b, a, actor) else IllegalTransition)(why)

    changed = take_over(session, a, b, actor.login, now)
    withdrawn, messages, notes = move_mail(session, a, b, actor.login, now)
    move_refund_case(session, a, b)
    moved, dropped = move_drafts(session, a, b)
    # tickets merged into B earlier lead to A now (one hop)
    session.execute(
        update(Ticket)
        .where(col(Ticket.merged_into_id) == b.id)
        .values(merged_into_id=a.id)
        .execution_options(synchronize_session=False)
    )

    before = b.status
    b.status, b.close_reason, b.closed_at, b.merged_into_id = S.CLOSED.value, CloseReason.MERGED.value, now, a.id
    result = MergeResult(b.reference, a.reference, messages, notes, tuple(withdrawn), moved, tuple(dropped), changed)
    record_merge(session, a, b, result, before, actor.login, now)
    finish(b, actor.login, now)
    finish(a, actor.login, now)
    session.flush()
    return result


def merged_from(session: Session, ticket_id: int) -> list[str]:
    """References of the tickets merged into ticket `ticket_id`, oldest first."""
    return list(
        session.scalars(
            select(col(Ticket.reference))
            .where(col(Ticket.merged_into_id) == ticket_id)
            .order_by(col(Ticket.received_at), col(Ticket.id))
        )
    )


__all__ = [
    "DUPLICATE_TEMPLATES",
    "JOINS",
    "Candidate",
    "MergeResult",
    "candidates",
    "merge",
    "merged_from",
    "offered",
    "problem",
    "who_may",
]
