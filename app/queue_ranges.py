"""The queue's parts that an index holds by app.clocks' rules (migration 0022).

At risk, sorted by due, is read in parts an index hands over in (due, id)
order (app/queue_views.py `parts`). The tickets judged at their pause
(paused before now) are apart: the walk of the due index from now leaves them out, and
reading every paused ticket to find the few at risk cost 36 ms (SQLite) to
47 ms (PostgreSQL) at 1,000,000 tickets, for none. Judged at the pause, the
rule does not depend on now (`clocks.at_risk_at_pause_sql`), so a partial
index holds exactly those tickets, in (due, id) order:
ix_ticket_paused_risk, for the default at-risk share (another share reads
the paused tickets as before).

The planner matches a partial index's condition only against the same
expression with the same constants: the query adds `paused_risk_pred`, the
index's condition as text (app.wall_ranges.literal).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, literal_column
from sqlalchemy.sql import ColumnElement
from sqlmodel import col

from app import clocks
from app.wall_ranges import literal
from models import Ticket
from models.enums import TicketStatus

INDEXED_SHARE = clocks.DEFAULT_AT_RISK_SHARE
PAUSED_RISK_INDEX = "ix_ticket_paused_risk"


def _paused_risk(dialect: str) -> ColumnElement[Any]:
    """An open ticket whose clock runs, paused and at risk at its pause."""
    return and_(
        col(Ticket.status) != TicketStatus.CLOSED.value,
        col(Ticket.due_at).is_not(None),
        clocks.stop_sql().is_(None),
        *clocks.at_risk_at_pause_sql(dialect, INDEXED_SHARE),
    )


def paused_risk_pred(dialect: str) -> ColumnElement[bool]:
    """ix_ticket_paused_risk's condition, in the index's own form."""
    return literal_column(f"({literal(_paused_risk(dialect), dialect)})")


def index_ddl(dialect: str) -> list[str]:
    """CREATE INDEX statement of the paused tickets at risk at their pause."""
    where = literal(_paused_risk(dialect), dialect, False)
    return [f"CREATE INDEX {PAUSED_RISK_INDEX} ON ticket (due_at, id) WHERE {where}"]


INDEXES = (PAUSED_RISK_INDEX,)

__all__ = ["INDEXED_SHARE", "INDEXES", "PAUSED_RISK_INDEX", "index_ddl", "paused_risk_pred"]
