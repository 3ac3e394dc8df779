"""ticket merge: a merged ticket redirects to the one it joined

ticket.merged_into_id: the id of the open ticket this one was merged into (a
soft link, as previous_id; app/workflow/merge.py). Nullable, so existing desks
upgrade as they are; indexed, because a survivor's history reads the tickets
merged into it. A plain ADD COLUMN (no table rebuild), so the search and
history triggers on `ticket` stay.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
    op.create_index("ix_ticket_merged_into_id", "ticket", ["merged_into_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ticket_merged_into_id", table_name="ticket")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("merged_into_id")
