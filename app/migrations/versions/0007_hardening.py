"""hardening: the history stays append-only, but its free-text detail may be
redacted (data retention rewrites personal data out of event reasons).

An UPDATE of ticket_event is refused unless it changes nothing but `detail`
(who did what, when, and the state change stay as written); DELETE is still
refused.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MESSAGE = "ticket history is append-only"
FIXED = ("id", "ticket_id", "at", "actor", "action", "from_status", "to_status")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FIXED)
        op.execute("DROP TRIGGER IF EXISTS ticket_event_no_update")
        op.execute(
            f"CREATE TRIGGER ticket_event_no_update BEFORE UPDATE ON ticket_event WHEN {changed} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    else:
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FIXED)
        op.execute(
            "CREATE OR REPLACE FUNCTION ticket_event_append_only() RETURNS trigger AS $$ "
            f"BEGIN IF TG_OP = 'DELETE' OR {changed} THEN RAISE EXCEPTION '{MESSAGE}'; END IF; RETURN NEW; END; "
            "$$ LANGUAGE plpgsql"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ticket_event_no_update")
        op.execute(
            f"CREATE TRIGGER ticket_event_no_update BEFORE UPDATE ON ticket_event BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    else:
        op.execute(
            "CREATE OR REPLACE FUNCTION ticket_event_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql"
        )
