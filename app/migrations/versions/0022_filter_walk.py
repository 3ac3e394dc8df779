"""filter walk: the queue's due-ordered indexes end in id; at risk at the pause has its own

1. The queue sorts by (due_at, id) and reads a page by walking an index in
   that order until the page is full (app/queue_query.py). SQLite's indexes
   end in the rowid (the id) already; PostgreSQL's ordered only by due_at, so
   every run of tickets due at the same instant (deadlines fall at the end of
   a business day: 8,000 refunds under review share one at 1,000,000
   tickets) was read whole and sorted, and a page of At risk read 59,000 rows
   (113 ms) for 69. The four due-ordered indexes now end in id, on both
   engines (the models say the same: models/ticket.py).
2. ix_ticket_paused_risk (app/queue_ranges.py): the open tickets paused and
   at risk at their pause (`clocks.at_risk_at_pause_sql`, a rule free of
   now), in (due_at, id) order. At risk read every paused ticket to find
   those (16,000 at 1,000,000 tickets, none of them at risk: 36-90 ms).

Cost on an existing 1,000,000-ticket desk (the bench copies, 2 CPUs shared,
load 1.9): SQLite 11.8 s, PostgreSQL 10.2 s (four indexes rebuilt, one made);
the desk is locked for writing meanwhile. 100,000 tickets: 1.6 s / 1.0 s.
A ticket write keeps the same indexes but one, and that one holds only the
tickets paused at risk (none of the 1,000,000 at the bench's instant).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# (name, the columns before id): the models declare the same (models/ticket.py)
DUE_INDEXES = (
    ("ix_ticket_due_at", "due_at"),
    ("ix_ticket_status_due", "status, due_at"),
    ("ix_ticket_kind_status_due", "kind, status, due_at"),
    ("ix_ticket_assignee_status_due", "assignee_id, status, due_at"),
)


def upgrade() -> None:
    from app import queue_ranges

    bind = op.get_bind()
    for name, cols in DUE_INDEXES:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        bind.exec_driver_sql(f"CREATE INDEX {name} ON ticket ({cols}, id)")
    for ddl in queue_ranges.index_ddl(bind.dialect.name):
        bind.exec_driver_sql(ddl)


def downgrade() -> None:
    from app import queue_ranges

    bind = op.get_bind()
    for name in queue_ranges.INDEXES:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    for name, cols in DUE_INDEXES:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        bind.exec_driver_sql(f"CREATE INDEX {name} ON ticket ({cols})")
