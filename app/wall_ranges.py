"""The wall's time-dependent counts as index ranges (migration 0014 makes
the indexes; app.dashboard_queries reads them).

Breached and at risk are app.clocks' rules; only the open tickets whose clock
runs can be either, and the indexes hold only those (partial indexes on
`running_pred`):

- ix_ticket_wall_due (due_at, reference, paused_since, assignee_id): breached is
  `overdue_sql`, a range due_at < now (the overdue tickets, a few per cent of
  the open ones);
- ix_ticket_wall_risk (risk_from, due_at, paused_since, assignee_id, ...): a
  clock at risk has passed its `risk_from_sql` instant (at the pause, or now),
  so at risk is a range risk_from < now: the clocks at risk and the overdue
  ones, never the clocks on track.

The planner matches an index on an expression, and a partial index's
condition, only against the same expression with the same constants: these
forms are app.clocks' expressions rendered with literal values (`literal`),
the at-risk share the default one (a wall asking another share gets the same
figures from a scan instead). ix_message_wall_undelivered holds the outbound
mail not yet delivered (the undelivered-mail tile), a few rows of millions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, literal_column
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ColumnElement
from sqlmodel import col

from app import clocks
from models import Message, Ticket
from models.enums import DeliveryState, MessageKind, TicketKind, TicketStatus

INDEXED_SHARE = clocks.DEFAULT_AT_RISK_SHARE
# the columns the at-risk rule reads (besides the key): an index-only scan on PostgreSQL
_RISK_COLUMNS = ("due_at", "paused_since", "assignee_id", "due_clock", "received_at", "acknowledged_at", "decided_at")


def _dialect(name: str) -> Dialect:
    from sqlalchemy.dialects import postgresql, sqlite

    made: Dialect = (sqlite if name == "sqlite" else postgresql).dialect()
    return made


def literal(expr: ColumnElement[Any], dialect: str, qualified: bool = True) -> str:
    """`expr` as SQL text with its constants inline (an index's own form)."""
    out = str(expr.compile(dialect=_dialect(dialect), compile_kwargs={"literal_binds": True}))
    return out if qualified else out.replace("ticket.", "").replace("message.", "")


def _text(expr: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    return literal_column(f"({literal(expr, dialect)})")


def _running() -> ColumnElement[Any]:
    return and_(col(Ticket.status) != TicketStatus.CLOSED.value, clocks.running_sql())


def _unacknowledged() -> ColumnElement[Any]:
    return and_(
        col(Ticket.status) != TicketStatus.CLOSED.value,
        col(Ticket.acknowledged_at).is_(None),
        col(Ticket.kind) == TicketKind.COMPLAINT.value,
    )


def _undelivered() -> ColumnElement[Any]:
    return and_(
        col(Message.kind) == MessageKind.OUTBOUND.value,
        col(Message.delivery).in_((DeliveryState.FAILED.value, DeliveryState.QUEUED.value)),
    )


def undelivered_pred(dialect: str) -> ColumnElement[Any]:
    """Outbound mail failed or still queued (ix_message_wall_undelivered's condition)."""
    return _text(_undelivered(), dialect)


def running_pred(dialect: str) -> ColumnElement[Any]:
    """An open ticket whose clock runs: the partial indexes' condition."""
    return _text(_running(), dialect)


def acks_pred(dialect: str) -> ColumnElement[Any]:
    """An open complaint not yet acknowledged (ix_ticket_wall_acks' condition)."""
    return _text(_unacknowledged(), dialect)


def risk_from(dialect: str, share: float) -> ColumnElement[Any]:
    """`clocks.risk_from_sql` in the index's form (for the indexed share)."""
    return _text(clocks.risk_from_sql(dialect, share), dialect)


def index_ddl(dialect: str) -> list[str]:
    """CREATE INDEX statements of the wall's ranges."""
    run = literal(_running(), dialect, False)
    risk = literal(clocks.risk_from_sql(dialect, INDEXED_SHARE), dialect, False)
    acks = literal(_unacknowledged(), dialect, False)
    stats = []
    if dialect == "sqlite":
        risk_cols = f"({risk}), {', '.join(_RISK_COLUMNS)}"
    else:
        risk_cols = f"({risk}), due_at, paused_since, assignee_id) INCLUDE ({', '.join(_RISK_COLUMNS[3:])}"
        # the planner's row estimates of the running condition (else it guesses 0.5 % and sorts instead of walking)
        start, stop = (literal(e, dialect, False) for e in (clocks.start_sql(), clocks.stop_sql()))
        stats = [f"CREATE STATISTICS {STATISTICS} ON ({start}), ({stop}) FROM ticket", "ANALYZE ticket"]
    return [
        f"CREATE INDEX ix_ticket_wall_due ON ticket (due_at, reference, paused_since, assignee_id) WHERE {run}",
        f"CREATE INDEX ix_ticket_wall_risk ON ticket ({risk_cols}) WHERE {run}",
        f"CREATE INDEX ix_ticket_wall_acks ON ticket (kind, ack_due_at) WHERE {acks}",
        "CREATE INDEX ix_message_wall_undelivered ON message (delivery, next_attempt_at, created_at) "
        f"WHERE {literal(_undelivered(), dialect, False)}",
    ] + stats


STATISTICS = "st_ticket_wall_running"  # PostgreSQL
INDEXES = ("ix_ticket_wall_due", "ix_ticket_wall_risk", "ix_ticket_wall_acks", "ix_message_wall_undelivered")
