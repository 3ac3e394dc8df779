"""intake batch: on PostgreSQL a group's new tickets are indexed once, at its commit

Intake commits many messages a transaction (app.grouped_writes). Each new
ticket's insert built its search document (0006/0013/0021) and its filter
document (0015) row by row, through trigger functions: about 0.9 ms of server
CPU a ticket, most of it per-call overhead (a plan for each call of the SQL
functions, the executor started per row). Built for the whole group in one
statement each, the same documents cost about 0.15 ms a ticket.

So a transaction may ask to defer them: `SELECT set_config('esimdesk.search_pending',
'0', true)` (intake does, app.mail.deferred_index). In such a transaction a new
ticket's insert only notes its id in that setting, a message inserted into a
noted ticket leaves its document alone (it is about to be built whole), and a
deferred constraint trigger builds every noted ticket's search and filter
document at COMMIT, with the same functions as before (`search_reindex`,
`search_filter_reindex`): the documents are exactly a full rebuild's. A
customer's or an order's change in such a transaction rebuilds its other
tickets' documents at once, as before, and leaves the noted ones to the
commit (intake fills in a customer's blank name this way). The
setting is transaction-local, so a rollback, a savepoint's rollback or a kill
forgets the noted ids together with the rows they name. Any other transaction
(none set it) indexes row by row as before; its inserts only evaluate the
constraint trigger's WHEN (no event is queued).

SQLite is unchanged: its FTS5 triggers cost little per row (measured: the
ticket insert with every trigger ~110 us).

Upgrade cost: functions and one trigger replaced or created, no row read or
rebuilt: 0.11 s measured on a copy of the 100k PostgreSQL bench desk, the same
at 1M (catalog only); SQLite: nothing.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_0021 = importlib.import_module("app.migrations.versions.0021_intake_speed")
CAP = _0021.CAP

# the transaction-local setting: unset or '' = index row by row; '0' = defer,
# none noted yet; '0,12,13' = tickets 12 and 13 are to be indexed at commit
PENDING = "esimdesk.search_pending"

_NOTE = f"""
CREATE OR REPLACE FUNCTION search_defer(tid integer, note boolean) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  pending text := current_setting('{PENDING}', true);
BEGIN
  IF pending IS NULL OR pending = '' THEN
    RETURN false;  -- this transaction indexes row by row
  END IF;
  IF tid = ANY(string_to_array(pending, ',')::integer[]) THEN
    RETURN true;
  END IF;
  IF note THEN
    PERFORM set_config('{PENDING}', pending || ',' || tid, true);
  END IF;
  RETURN note;
END $$"""

_PENDING_IDS = f"""
CREATE OR REPLACE FUNCTION search_pending() RETURNS SETOF integer LANGUAGE sql STABLE AS $$
  SELECT unnest(string_to_array(nullif(current_setting('{PENDING}', true), ''), ',')::integer[])
$$"""
# a customer's or an order's change rebuilds its tickets' documents, but not
# those of its noted tickets: they are built whole at commit
_EXCEPT_NOTED = " EXCEPT SELECT search_pending())"

_FLUSH = f"""
CREATE OR REPLACE FUNCTION search_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tids integer[] := string_to_array(coalesce(nullif(current_setting('{PENDING}', true), ''), '0'), ',')::integer[];
BEGIN
  IF cardinality(tids) > 1 THEN  -- the first of the commit's events builds them all
    PERFORM set_config('{PENDING}', '0', true);
    PERFORM search_reindex(tids[2:]);
    PERFORM search_filter_reindex(tids[2:]);
  END IF;
  RETURN NULL;
END $$"""

_FLUSH_TRIGGER = (
    "CREATE CONSTRAINT TRIGGER search_flush AFTER INSERT ON ticket DEFERRABLE INITIALLY DEFERRED "
    f"FOR EACH ROW WHEN (coalesce(current_setting('{PENDING}', true), '') <> '') EXECUTE FUNCTION search_flush()"
)


def _on_change(defer: bool) -> str:
    """0021's search_on_change; with `defer`, a new ticket and a message of a
    noted ticket wait for the commit."""
    body: str = _0021._pg_on_change(skip_same=True)
    if not defer:
        return body
    body = body.replace(
        """  IF TG_TABLE_NAME = 'ticket' THEN
    PERFORM""",
        """  IF TG_TABLE_NAME = 'ticket' THEN
    IF TG_OP = 'INSERT' AND search_defer(NEW.id, true) THEN
      RETURN NEW;  -- built at commit (search_flush)
    END IF;
    PERFORM""",
    )
    body = body.replace(
        "    ELSIF TG_OP = 'INSERT' THEN\n",
        "    ELSIF TG_OP = 'INSERT' THEN\n      IF search_defer(NEW.ticket_id, false) THEN\n        RETURN NEW;  -- its ticket is built whole at commit\n      END IF;\n",
    )
    assert body.count("search_defer") == 2
    return _except_noted(body, 2)


def _except_noted(body: str, expected: int) -> str:
    """`body` with each rebuild of a customer's or an order's tickets leaving out the noted ones."""
    for column in ("customer_id", "order_id"):
        for row in ("NEW", "OLD"):
            body = body.replace(
                f"(SELECT id FROM ticket WHERE {column} = {row}.id))",
                f"(SELECT id FROM ticket WHERE {column} = {row}.id{_EXCEPT_NOTED})",
            )
    assert body.count(_EXCEPT_NOTED) == expected
    return body


def _filter_on_change(defer: bool) -> str:
    """0015's search_filter_on_change; with `defer`, a new ticket waits for the commit."""
    wait = (
        """
    IF TG_OP = 'INSERT' AND search_defer(NEW.id, true) THEN
      RETURN NULL;  -- built at commit (search_flush)
    END IF;"""
        if defer
        else ""
    )
    body = f"""
CREATE OR REPLACE FUNCTION search_filter_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'ticket' THEN{wait}
    PERFORM search_filter_reindex(ARRAY[NEW.id]);
  ELSIF TG_TABLE_NAME = 'customer' THEN
    PERFORM search_filter_reindex(ARRAY(SELECT id FROM ticket WHERE customer_id = OLD.id));
  ELSE
    PERFORM search_filter_reindex(ARRAY(SELECT id FROM ticket WHERE order_id = OLD.id));
  END IF;
  RETURN NULL;
END $$"""
    return _except_noted(body, 2) if defer else body


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(_NOTE)
    op.execute(_PENDING_IDS)
    op.execute(_on_change(defer=True))
    op.execute(_filter_on_change(defer=True))
    op.execute(_FLUSH)
    op.execute(_FLUSH_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS search_flush ON ticket")
    op.execute("DROP FUNCTION IF EXISTS search_flush()")
    op.execute(_on_change(defer=False))
    op.execute(_filter_on_change(defer=False))
    op.execute("DROP FUNCTION IF EXISTS search_defer(integer, boolean)")
    op.execute("DROP FUNCTION IF EXISTS search_pending()")
