"""filter prefix: the queue's views that no index ordered by due get one

A page of a view sorted by due walks an index in (due, id) order and stops
when it is full (app/queue_query.py `_branches`). Two views had no such
index, so each page read and sorted the whole view at 1,000,000 tickets:
- unassigned (119,000 open tickets): the (assignee_id, status, due_at)
  index serves it per status, but PostgreSQL, taking assignee and status
  for independent, walked (status, due_at) and dropped every row of the ten
  statuses with no unassigned ticket (0.4-0.5 s a page);
- out of scope (92,000 tickets marked, any status): no index at all (SQLite
  scanned the desk, 0.45 s a page).
Both are partial indexes on (due_at, id), the rows of the view alone.

(The slot was reserved as "filter prefix": an FTS5 prefix index, prefix='2 3',
was measured on the 1,000,000-ticket desk and left out: rebuilt in 38 s, 265 MB
more, the filter's pages no faster: their time is the walk, not the prefix.)

Cost on an existing 1,000,000-ticket desk (measured on the bench copies,
2 CPUs, load 1.6-1.9): SQLite 3.3 s, PostgreSQL 1.7 s; the desk is locked for
writing meanwhile. A new desk pays nothing.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# (name, WHERE): the WHERE lives here alone (models/ticket.py declares the indexes without it)
INDEXES = (
    ("ix_ticket_unassigned_due", "assignee_id IS NULL AND status <> 'closed'"),
    ("ix_ticket_out_of_scope_due", "out_of_scope IS NOT NULL"),
)


def upgrade() -> None:
    for name, where in INDEXES:
        op.execute(f"CREATE INDEX {name} ON ticket (due_at, id) WHERE {where}")


def downgrade() -> None:
    for name, _where in INDEXES:
        op.execute(f"DROP INDEX {name}")
