"""refund decisions: approver's amount and fee, the investigation finding,
when the decision was communicated (issue 17)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("approved_amount", lambda: sa.Numeric(precision=12, scale=2)),
    ("processing_fee", lambda: sa.Numeric(precision=12, scale=2)),
    ("investigation_by", lambda: sqlmodel.sql.sqltypes.AutoString(length=64)),
    ("investigation_at", lambda: sqlmodel.sql.sqltypes.UTCDateTime()),
    ("investigation_result", lambda: sqlmodel.sql.sqltypes.AutoString(length=16)),
    ("investigation_note", lambda: sqlmodel.sql.sqltypes.AutoString()),
    ("decision_sent_at", lambda: sqlmodel.sql.sqltypes.UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("refund_case", schema=None) as batch_op:
        for name, kind in _COLUMNS:
            batch_op.add_column(sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refund_case", schema=None) as batch_op:
        for name, _kind in reversed(_COLUMNS):
            batch_op.drop_column(name)
