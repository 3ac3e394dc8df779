"""orders: imported and looked-up order facts, their history, the quoted order number

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("esim_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("validity_ends_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("invoice_received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reseller", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("refreshed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.create_table(
        "order_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("changes", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["esim_order.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.create_index("ix_order_history_order_revision", ["order_id", "revision"], unique=False)
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_ticket_order_number"), ["order_number"], unique=False)
    # tickets already linked to an order keep its number
    op.execute(
        "UPDATE ticket SET order_number = (SELECT number FROM esim_order WHERE esim_order.id = ticket.order_id) "
        "WHERE order_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_order_number"))
        batch_op.drop_column("order_number")
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.drop_index("ix_order_history_order_revision")
    op.drop_table("order_history")
    with op.batch_alter_table("esim_order", schema=None) as batch_op:
        for name in (
            "content_hash",
            "revision",
            "refreshed_at",
            "source",
            "reseller",
            "invoice_received_at",
            "validity_ends_at",
            "customer_type",
        ):
            batch_op.drop_column(name)
