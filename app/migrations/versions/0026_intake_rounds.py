"""intake rounds: a new ticket's search and filter documents inserted without a DELETE first (SQLite)

The SQLite triggers that build a ticket's search document (search_ticket_ins,
0006/0021) and its filter document (filter_ticket_ins, 0015) on its insert
began, like every rebuild, by deleting the ticket's document. A ticket just
inserted has none: its id is new, and a deleted ticket's documents go with it
(search_ticket_del, filter_ticket_del). The two DELETEs cost about 17 us of
the ~120 us a ticket insert takes (measured: 121 -> 105 us, a fresh desk,
5,000 inserts). The inserts are otherwise unchanged, so the documents, and
what a search finds, are the same.

Each trigger is made again from its own stored definition (sqlite_master)
less the leading DELETE, so a document definition changed by an earlier
revision is kept as it is. Downgrade puts the DELETE back (the same
statement, from the same definition). PostgreSQL: nothing (its documents are
built by an upsert, app/mail/deferred_index.py).

Upgrade cost: two triggers dropped and created, no row read, so the same at
any desk size: `esimdesk db upgrade` 0024 -> 0027 of a copy of the 100k
SQLite bench desk took 1.7 s wall, 0.8 s CPU, nearly all of it the process
start (load 4.6); the 1M desk has the same catalog.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# trigger -> the document table its leading DELETE empties for the new ticket
TRIGGERS = {"search_ticket_ins": "search_fts", "filter_ticket_ins": "search_filter"}


def _delete(table: str) -> str:
    return f"DELETE FROM {table} WHERE rowid IN (SELECT t.id FROM ticket t WHERE t.id = NEW.id); "


def _stored(name: str) -> str | None:
    row = op.get_bind().exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,))
    found = row.scalar()
    return None if found is None else str(found)


def _remake(name: str, sql: str) -> None:
    op.execute(f"DROP TRIGGER {name}")
    op.execute(sql)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, table in TRIGGERS.items():
        sql = _stored(name)
        if sql is None or _delete(table) not in sql:
            continue  # not there (a desk built without it), or already without its DELETE
        _remake(name, sql.replace(_delete(table), "", 1))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, table in TRIGGERS.items():
        sql = _stored(name)
        if sql is None or _delete(table) in sql:
            continue
        _remake(name, sql.replace(" BEGIN ", f" BEGIN {_delete(table)}", 1))
