"""The queue's views as SQL: each view's conditions, and the parts an index
hands over in due order, with the instant they are judged at as bind
parameters (`NOW`, and Due today's local day), so a view's statements are
built once and run at any instant (app/queue_query.py keeps them per view).
The clock rules are app.clocks'; this module only says which a view uses.

No Textual here.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, literal_column, or_
from sqlmodel import col

from app import clocks, queue_ranges, unread
from models import Ticket
from models.enums import TicketKind, TicketStatus

if TYPE_CHECKING:
    from app.queue_query import QueueQuery

CLOSED = TicketStatus.CLOSED.value
# Every status but closed, spelled out: `status IN (...)` lets the
# (status, due_at) index hand rows over in due order per status (the parts of
# "my", the kind views; the counts of the deadline views).
OPEN_STATUSES: tuple[str, ...] = tuple(s.value for s in TicketStatus if s.value != CLOSED)
# views whose condition implies `due_at IS NOT NULL`: sorted by due, they need
# no "no deadline last" term and can follow the index
DUE_VIEWS = frozenset({"due_today", "at_risk", "breached"})

# the instants a view is judged at, bound when its statements run (`instants`)
NOW, DAY_START, DAY_END = (clocks.now_param(name) for name in ("now", "day_start", "day_end"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Conditions = list[ColumnElement[bool]]


def instants(q: QueueQuery, now: datetime) -> dict[str, datetime]:
    """The values of the bind parameters at `now`: the instant, and the desk's day around it (Due today)."""
    now = now if now.utcoffset() is not None else now.replace(tzinfo=UTC)
    tz = ZoneInfo(q.tz)
    local = now.astimezone(tz).date()
    start = datetime.combine(local, time(0), tz)
    return {"now": now, "day_start": start, "day_end": datetime.combine(local + timedelta(days=1), time(0), tz)}


def open_() -> ColumnElement[bool]:
    # the value written out, not bound: SQLite uses a partial index only when the
    # query's terms are those of its WHERE (migration 0019: unassigned)
    return col(Ticket.status) != literal_column(f"'{CLOSED}'")


def open_in() -> ColumnElement[bool]:
    return col(Ticket.status).in_(OPEN_STATUSES)


def _bound(at: dict[str, datetime] | None) -> tuple[BindParameter[datetime], ...]:
    """NOW, DAY_START and DAY_END, with the values `at` (`instants`) when given."""
    if at is None:
        return NOW, DAY_START, DAY_END
    return tuple(bindparam(p.key, at[p.key], type_=p.type) for p in (NOW, DAY_START, DAY_END))


def conditions(
    q: QueueQuery, dialect: str, *, ordered: bool = False, at: dict[str, datetime] | None = None
) -> Conditions:
    """The view's WHERE clauses (the filter text apart), judged at `NOW`
    (bound when they run), or at the instants `at` (`instants`) they carry.

    `ordered`: they feed a page sorted by due (a deadline view then tests "not
    closed" row by row as it walks the due_at index, `parts`); a count keeps
    the form whose plan counts fastest (the open statuses named, for the
    (status, due_at) index). Same rows either way.
    """
    now, day_start, day_end = _bound(at)
    v = q.view
    if v == "my":
        me = q.actor_id or -1
        return [open_(), or_(col(Ticket.assignee_id) == me, col(Ticket.reviewer_id) == me)]
    if v == "unassigned":
        return [open_(), col(Ticket.assignee_id).is_(None)]
    still_open = open_() if ordered else open_in()
    if v == "due_today":
        return [still_open, col(Ticket.due_at) >= day_start, col(Ticket.due_at) < day_end]
    if v == "breached":
        return [still_open, *clocks.breached_sql(now)]
    if v == "at_risk":
        return [
            open_(),
            col(Ticket.due_at).is_not(None),
            clocks.stop_sql().is_(None),
            *clocks.at_risk_sql(dialect, now, float(q.at_risk_share)),
        ]
    if v in ("escalations", "refunds"):
        kind = TicketKind.ESCALATION if v == "escalations" else TicketKind.REFUND
        return [open_(), col(Ticket.kind) == kind.value]
    if v == "replied":
        return [open_(), unread.replied()]
    if v == "out_of_scope":
        inquiry = col(Ticket.kind) == TicketKind.INQUIRY.value
        return [or_(col(Ticket.out_of_scope).is_not(None), and_(inquiry, open_()))]
    return []


def parts(q: QueueQuery, dialect: str) -> list[Conditions]:
    """The view sorted by due as parts an index hands over in (due, id)
    order, each with its own conditions beside the view's. [[]]: the view
    walks one index ("all", "unassigned": its own partial index, migration
    0019; the deadline views: the due_at index over their range); []: it is
    read and sorted (a sort other than due, "replied"); else one part per
    open status ((status, due_at) and its kind and assignee forms), and apart
    the rows no such index orders (reviewed by me, out of scope, at risk
    judged at a pause)."""
    if q.sort != "due" or q.view == "replied":
        return []
    if q.view in ("all", "unassigned", "due_today", "breached"):
        # A deadline view walks the due_at index over its range: only an open ticket whose clock
        # runs has a deadline (app.workflow.guard), so each row it meets is one of the view's, or
        # (breached) one paused before its due. One part per status would read a page of each
        # status, and plan 12 parts (PostgreSQL: 1-16 ms of planning a page).
        return [[]]
    status = col(Ticket.status)
    per_status: list[Conditions] = [[status == s] for s in OPEN_STATUSES]
    if q.view == "my":
        return [[col(Ticket.assignee_id) == (q.actor_id or -1), *b] for b in per_status] + [
            [col(Ticket.reviewer_id) == (q.actor_id or -1)]
        ]
    if q.view == "out_of_scope":
        inquiry = col(Ticket.kind) == TicketKind.INQUIRY.value
        return [[col(Ticket.out_of_scope).is_not(None)], *[[inquiry, *b] for b in per_status]]
    if q.view == "at_risk":
        return _at_risk_parts(q, dialect)
    return per_status


def _at_risk_parts(q: QueueQuery, dialect: str) -> list[Conditions]:
    """At risk implies due at or after now, unless paused before now (then judged at the pause).

    Not paused before now: one part walks the due_at index from now, in (due,
    id) order. It meets the running clocks in the order they fall due, and the
    first ones are the ones at risk: it stops after about a page. One part per
    status instead read, for a status with none at risk, every ticket of it
    due after now (1,000,000 tickets: 7,000 refunds in processing, 13 ms on
    SQLite, 6,976 pages cold on PostgreSQL, for no row)."""
    paused: Any = col(Ticket.paused_since)
    running = [or_(paused.is_(None), paused >= NOW), col(Ticket.due_at) >= NOW]
    if q.at_risk_share == queue_ranges.INDEXED_SHARE:
        # judged at the pause: the few at risk then, in the partial index of them (migration 0022;
        # the view's own conditions keep those paused after now out, as in every part)
        return [running, [queue_ranges.paused_risk_pred(dialect)]]
    # (paused: a range bounded both sides, so SQLite reads the few paused tickets
    # through their index rather than walk every deadline of the desk)
    return [running, [paused > _EPOCH, paused < NOW]]


__all__ = ["DUE_VIEWS", "NOW", "OPEN_STATUSES", "conditions", "instants", "open_", "open_in", "parts"]
