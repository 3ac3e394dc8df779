"""wall daily: the wall's 30-day figures kept per hour in the transaction of every change

- table `wall_daily` (hour, figure, n): per UTC hour, how many tickets have
  each of app.wall_daily's facts (received, closed, and per judged clock met,
  late, late by due, overdue while running), kept by triggers on `ticket` and
  filled here by a recount;
- one partial index per judged clock over its running clocks
  (ix_ticket_wall_over_*): the snapshot counts what fell overdue in the
  current hour as a range on it.

The triggers and the indexes are the application's own forms
(app.wall_daily.trigger_ddl, app.wall_daily.index_ddl), so the rules are
written once; a later change to them comes with a migration that makes them
again.

Cost on a 1,000,000-ticket desk (480,000 open; measured on the bench
copies, 2 CPUs shared at load 5-7): SQLite 24.5 s (11.1 s of CPU),
PostgreSQL 12.6 s: four partial indexes over the running judged clocks and
one recount (a grouped scan per fact; about 15,000 rows kept); the ticket
table is not rewritten. The triggers' cost per ticket change was within the
noise of a raw update or insert next to the existing triggers (SQLite,
20,000 rows rolled back: update 27-79 us/row with, 32 without; insert
439-761 us/row with, 410-456 without).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from app import wall_daily

    op.create_table(
        "wall_daily",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("figure", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("hour", "figure"),
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    for ddl in wall_daily.trigger_ddl(dialect) + wall_daily.index_ddl(dialect):
        bind.exec_driver_sql(ddl)
    wall_daily.recount(bind)


def downgrade() -> None:
    from app import wall_daily

    bind = op.get_bind()
    for name in wall_daily.INDEXES:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    for ddl in wall_daily.drop_ddl(bind.dialect.name):
        bind.exec_driver_sql(ddl)
    op.drop_table("wall_daily")
