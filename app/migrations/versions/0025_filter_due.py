"""filter due: the due_at index holds the reference too

A reference prefix typed in the filter ("CMP-2", the text of most references)
reads a page by walking the view's due_at index in order, testing each row's
reference (app/queue_filter.py). At 1,000,000 tickets the first complaint is
15,800 rows down (the earliest deadlines are refunds), and each of those rows
was read from the table for its reference: 31 ms of CPU on SQLite, 43-105 ms
on PostgreSQL, for every character of "CMP-2026-00". With the reference in
the index (after the id: its order is unchanged) the walk reads the index
alone. A reference never changes, so no write updates the index more often.

Cost on an existing 1,000,000-ticket desk (the bench copies, 2 CPUs shared):
SQLite 1.6 s, PostgreSQL 0.7 s (load 3.9; one index rebuilt); the desk is
locked for writing meanwhile. The index grows by the references (about 20 MB).

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("DROP INDEX IF EXISTS ix_ticket_due_at")
    bind.exec_driver_sql("CREATE INDEX ix_ticket_due_at ON ticket (due_at, id, reference)")


def downgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("DROP INDEX IF EXISTS ix_ticket_due_at")
    bind.exec_driver_sql("CREATE INDEX ix_ticket_due_at ON ticket (due_at, id)")
