"""wall and clock aggregates: the indexes the wall display reads by

ticket(due_at) and ticket(paused_since) serve the wall's deadline lists (a
walk in due order that stops at its limit); ticket(received_at) and
ticket(closed_at) make received and closed per day range counts on an index
(app/dashboard_queries.py). The database keeps them in the transaction of
every change, so they always equal a recount.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_ticket_due_at", "due_at"),
    ("ix_ticket_paused_since", "paused_since"),
    ("ix_ticket_received_at", "received_at"),
    ("ix_ticket_closed_at", "closed_at"),
)


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        for name, column in _INDEXES:
            batch_op.create_index(name, [column], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        for name, _column in _INDEXES:
            batch_op.drop_index(name)
