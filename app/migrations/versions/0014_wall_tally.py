"""wall tally: counts kept in the transaction of every change, and the wall's index ranges

- table `wall_tally` (one row per assignee, 0 for none: open tickets,
  complaints, escalations without a senior, refunds to decide, refunds
  processing, extended complaints), kept by triggers on `ticket` (the ORM and
  the prepared-statement intake path alike) and filled here by a recount;
- partial indexes for the time-dependent figures (app/wall_ranges.py):
  breached as a range on due_at, at risk as a range on the instant a clock
  becomes at risk, acks due today as a range on ack_due_at.

The triggers and the indexes are the application's own forms
(app.wall_tally.trigger_ddl, app.wall_ranges.index_ddl), so the rules they
apply are written once; a later change to those rules comes with a
migration that makes them again.

Cost on a 1,000,000-ticket desk (480,000 open; measured on 2 CPUs shared
at load 18): SQLite 17 s (3.5 s of CPU): four partial indexes and one
grouped count of the open tickets; the ticket table is not rewritten.
PostgreSQL adds statistics on the running-clock condition and an ANALYZE of
ticket (a sample). The triggers cost about 2 us per ticket update and nothing
measurable per insert on SQLite (next to the search index's triggers).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_COUNTS = ("open", "complaints", "escalations_waiting", "refunds_to_decide", "refunds_processing", "extended")


def upgrade() -> None:
    from app import wall_ranges, wall_tally

    op.create_table(
        "wall_tally",
        sa.Column("assignee", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in _COUNTS),
        sa.PrimaryKeyConstraint("assignee"),
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    for ddl in wall_tally.trigger_ddl(dialect) + wall_ranges.index_ddl(dialect):
        bind.exec_driver_sql(ddl)
    wall_tally.recount(bind)


def downgrade() -> None:
    from app import wall_ranges, wall_tally

    bind = op.get_bind()
    for name in wall_ranges.INDEXES:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    if bind.dialect.name != "sqlite":
        bind.exec_driver_sql(f"DROP STATISTICS IF EXISTS {wall_ranges.STATISTICS}")
    for ddl in wall_tally.drop_ddl(bind.dialect.name):
        bind.exec_driver_sql(ddl)
    op.drop_table("wall_tally")
