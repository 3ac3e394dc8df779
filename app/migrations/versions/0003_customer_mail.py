"""customer mail: machine mail and bounces on messages, the customer's
language, a follow-up ticket's link to the closed one and the queue's mail marker

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("automatic", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("bounced_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # a plain ADD COLUMN (SQLite has it): a batch would reflect customer's expression index and warn
    op.add_column("customer", sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
    # plain ADD COLUMNs: no table copy of ticket on a big desk (a soft link, no foreign key)
    op.add_column("ticket", sa.Column("previous_id", sa.Integer(), nullable=True))
    op.add_column("ticket", sa.Column("mail_flag", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("mail_flag")
        batch_op.drop_column("previous_id")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("bounced_at")
        batch_op.drop_column("automatic")
