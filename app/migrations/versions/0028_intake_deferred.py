"""intake deferred: on SQLite too, a group's tickets indexed once, at its commit

SQLite built a ticket's search document (0006/0021/0026) and filter
document (0015) in row triggers: at every ticket insert, again at a
message into an older ticket, and for every ticket of a customer whose name
intake fills in. In an intake group (app.grouped_writes) that was about
half of the database work of a message.

A transaction may now defer them, as on PostgreSQL (0023): a marker row
(ticket_id 0) in the table `search_pending`. While it is there, the
rebuilding triggers below are skipped (their WHEN) and the `search_note_*`
triggers note the ticket ids to be built instead (a new ticket as `fresh`:
it has no documents yet); before the transaction commits, the writer
deletes the documents of the noted tickets that are not fresh, builds every
noted ticket's documents with the INSERT of the ticket triggers themselves
(app.mail.deferred_index), then empties the table. Should a fresh ticket
have documents all the same (a trigger left unguarded rebuilt it
meanwhile: an order renamed in the same transaction), the build fails on
the duplicate and the group runs again guarded, without deferring. The documents are exactly a rebuild's. Intake sets the marker in its
unguarded groups only; a kill, a rollback or a lost group forgets the marker
and the noted ids with the rows they name. Every other writer (console, CLI,
demo build) never sets it: its triggers build row by row as before, after one
look-up of the empty table's primary key.

PostgreSQL: `search_defer` finds a noted id with one substring search
instead of turning the whole noted list into an array (a group's 256th
ticket parsed 255 ids, twice); and a customer changed in a deferring
transaction (intake filling in a blank name) notes its tickets for the
commit instead of rebuilding them at once (a constraint trigger on the
customer's update builds them, as the ticket's does).

Measured (SQLite, 2,000 ticket inserts in one transaction of a 3,000-ticket
desk, CPU): a ticket insert 167-175 -> 79 us deferred (39-42 us with the
statement journals in memory, app.db); in intake (4,000 messages, groups of
256, thread CPU at load 3-8): the ticket insert 214 -> 83 us a message, the
message insert 118 -> 43, a customer's filled-in name 259 -> 27 us a
statement; the build at commit ~28 us a message. `esimdesk intake` bench
(10,100 messages, load 2.8-2.9, back to back): 1,187/1,188 -> 1,719/1,585
msg/s, 0.81-0.82 -> 0.60 ms of CPU a message. PostgreSQL: search_defer with
256 ids noted 15-26 -> 3-4 us a call.

Upgrade cost: a table and triggers created, triggers and functions replaced,
no row read: milliseconds at any size.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_0023 = importlib.import_module("app.migrations.versions.0023_intake_batch")
PENDING = _0023.PENDING

# -- SQLite ---------------------------------------------------------------------------
MARKER = 0  # the row of search_pending that turns deferral on (ticket ids start at 1)
_DEFERRING = f"EXISTS (SELECT 1 FROM search_pending WHERE ticket_id = {MARKER})"
GUARD = f"NOT {_DEFERRING}"

# the triggers skipped while a transaction defers (a rebuild on insert, or on a change of a
# document's text); deletes and an order's change still rebuild at once (intake does neither)
GUARDED = (
    "search_ticket_ins",
    "filter_ticket_ins",
    "search_ticket_upd",
    "filter_ticket_upd",
    "search_message_ins",
    "search_customer_upd",
    "filter_customer_upd",
)
_NOTE = "INSERT OR IGNORE INTO search_pending"
# ... and what notes their tickets instead
NOTES = {
    # a new ticket is noted as fresh: it has no documents to delete before they are built
    "search_note_ticket_ins": (
        f"AFTER INSERT ON ticket WHEN {_DEFERRING} BEGIN {_NOTE}(ticket_id, fresh) VALUES (NEW.id, 1); END"
    ),
    "search_note_ticket_upd": (
        f"AFTER UPDATE OF reference, subject, description, customer_id, order_id ON ticket WHEN {_DEFERRING} "
        f"BEGIN {_NOTE}(ticket_id) VALUES (NEW.id); END"
    ),
    "search_note_message_ins": f"AFTER INSERT ON message WHEN {_DEFERRING} BEGIN {_NOTE}(ticket_id) VALUES (NEW.ticket_id); END",
    "search_note_customer_upd": (
        f"AFTER UPDATE OF name, email, phone ON customer WHEN {_DEFERRING} "
        f"BEGIN {_NOTE}(ticket_id) SELECT id FROM ticket WHERE customer_id = NEW.id; END"
    ),
}


def guarded(sql: str) -> str:
    """A stored trigger definition with the deferral's guard in its WHEN."""
    head, body = sql.split(" BEGIN ", 1)
    if " WHEN " in head:
        on, when = head.split(" WHEN ", 1)
        return f"{on} WHEN {GUARD} AND ({when}) BEGIN {body}"
    return f"{head} WHEN {GUARD} BEGIN {body}"


def unguarded(sql: str) -> str:
    """`guarded`'s inverse."""
    head, body = sql.split(" BEGIN ", 1)
    on, when = head.split(f" WHEN {GUARD}", 1)
    if when.startswith(" AND ("):
        return f"{on} WHEN {when[len(' AND (') : -1]} BEGIN {body}"
    return f"{on} BEGIN {body}"


def _stored(name: str) -> str | None:
    row = op.get_bind().exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,))
    found = row.scalar()
    return None if found is None else str(found)


def _sqlite_upgrade() -> None:
    op.execute("CREATE TABLE search_pending (ticket_id INTEGER PRIMARY KEY, fresh INTEGER NOT NULL DEFAULT 0)")
    for name in GUARDED:
        sql = _stored(name)
        if sql is not None and GUARD not in sql:
            op.execute(f"DROP TRIGGER {name}")
            op.execute(guarded(sql))
    for name, rest in NOTES.items():
        op.execute(f"CREATE TRIGGER {name} {rest}")


def _sqlite_downgrade() -> None:
    for name in NOTES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name in GUARDED:
        sql = _stored(name)
        if sql is not None and GUARD in sql:
            op.execute(f"DROP TRIGGER {name}")
            op.execute(unguarded(sql))
    op.execute("DROP TABLE search_pending")


# -- PostgreSQL -------------------------------------------------------------------------
_DEFER = f"""
CREATE OR REPLACE FUNCTION search_defer(tid integer, note boolean) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  pending text := current_setting('{PENDING}', true);
BEGIN
  IF pending IS NULL OR pending = '' THEN
    RETURN false;  -- this transaction indexes row by row
  END IF;
  IF strpos(pending || ',', ',' || tid || ',') > 0 THEN  -- noted already ('0,12,13': never the leading 0)
    RETURN true;
  END IF;
  IF note THEN
    PERFORM set_config('{PENDING}', pending || ',' || tid, true);
  END IF;
  RETURN note;
END $$"""


def _noting(body: str, row: str, returned: str) -> str:
    """`body` where a deferring transaction's update of a customer notes its tickets for the commit."""
    old = "  ELSIF TG_TABLE_NAME = 'customer' THEN\n    PERFORM "
    tickets = f"ARRAY(SELECT id FROM ticket WHERE customer_id = {row}.id)"
    new = (
        "  ELSIF TG_TABLE_NAME = 'customer' THEN\n"
        f"    IF TG_OP = 'UPDATE' THEN\n      IF search_note_all({tickets}) THEN\n"
        f"        RETURN {returned};  -- built at commit (search_flush)\n      END IF;\n    END IF;\n    PERFORM "
    )
    assert body.count(old) == 1, body
    return body.replace(old, new)


_NOTE_ALL = f"""
CREATE OR REPLACE FUNCTION search_note_all(tids integer[]) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  pending text := current_setting('{PENDING}', true);
  tid integer;
BEGIN
  IF pending IS NULL OR pending = '' THEN
    RETURN false;  -- this transaction indexes row by row
  END IF;
  FOREACH tid IN ARRAY tids LOOP
    PERFORM search_defer(tid, true);
  END LOOP;
  RETURN true;
END $$"""

_FLUSH_CUSTOMER = (
    "CREATE CONSTRAINT TRIGGER search_flush_customer AFTER UPDATE ON customer DEFERRABLE INITIALLY DEFERRED "
    f"FOR EACH ROW WHEN (coalesce(current_setting('{PENDING}', true), '') <> '') EXECUTE FUNCTION search_flush()"
)


def _pg_on_change(defer: bool) -> str:
    body = _0023._on_change(defer=True)
    return _noting(body, "NEW", "NEW") if defer else body


def _pg_filter_on_change(defer: bool) -> str:
    body = _0023._filter_on_change(defer=True)
    return _noting(body, "OLD", "NULL") if defer else body


def _pg_upgrade() -> None:
    op.execute(_DEFER)
    op.execute(_NOTE_ALL)
    op.execute(_pg_on_change(defer=True))
    op.execute(_pg_filter_on_change(defer=True))
    op.execute(_FLUSH_CUSTOMER)


def _pg_downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS search_flush_customer ON customer")
    op.execute(_pg_on_change(defer=False))
    op.execute(_pg_filter_on_change(defer=False))
    op.execute("DROP FUNCTION IF EXISTS search_note_all(integer[])")
    op.execute(_0023._NOTE)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _pg_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_downgrade()
    else:
        _pg_downgrade()
