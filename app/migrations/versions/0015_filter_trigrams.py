"""filter trigrams: the queue filter's substring match answered by an index

The queue's filter finds tickets whose reference, subject, customer name,
customer email or order number contains the typed text (app/queue_query.py).
That was a LIKE '%text%' over every joined row (680 ms at 1,000,000 tickets).
`search_filter` holds one document per ticket, those five fields joined by
the unit separator (chr(31): typed text never holds it, so a match never
spans two fields), indexed by trigrams, kept in step by database triggers in
the same transaction as the row that changed (ticket, customer, order):

- SQLite: FTS5 table `search_filter(doc)` (rowid = ticket id), tokenizer
  trigram (case-insensitive), detail none (no positions: the index only
  narrows; the LIKE itself is checked on the stored document).
- PostgreSQL: table `search_filter(ticket_id, doc)` with a pg_trgm GIN index
  on doc (when the extension can be created; else the table alone).

Text of fewer than three characters has no trigram and keeps the scan.

Upgrade cost, measured on the bench desks (2 CPUs shared with other work,
load average 15-17 at the time): SQLite, 1,000,000 tickets: 48 s wall
(12.5 s CPU), the file +223 MB (4.32 -> 4.55 GB); PostgreSQL, 100,000
tickets: 12 s wall, +31 MB (table and GIN index) - about ten times that at
1,000,000 (that desk was not built in time to measure). Writes: one small
document per ticket insert or change of those fields (~10 us on SQLite).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _doc(sep: str) -> str:
    """SQL: the document of ticket `t` (customer `c`, order `o` left-joined)."""
    return (
        f"t.reference || {sep} || t.subject || {sep} || coalesce(c.name, '') || {sep} || "
        f"coalesce(c.email, '') || {sep} || coalesce(o.number, '')"
    )


_FROM = "FROM ticket t LEFT JOIN customer c ON c.id = t.customer_id LEFT JOIN esim_order o ON o.id = t.order_id"


# -- SQLite ---------------------------------------------------------------------------
def _sqlite_reindex(where: str) -> str:
    """Statements (for a trigger body) that rebuild the documents of the tickets `t` matching `where`."""
    return (
        f"DELETE FROM search_filter WHERE rowid IN (SELECT t.id FROM ticket t WHERE {where}); "
        f"INSERT INTO search_filter(rowid, doc) SELECT t.id, {_doc('char(31)')} {_FROM} WHERE {where};"
    )


_SQLITE_TRIGGERS = {
    "filter_ticket_ins": ("AFTER INSERT ON ticket", _sqlite_reindex("t.id = NEW.id")),
    "filter_ticket_upd": (
        "AFTER UPDATE OF reference, subject, customer_id, order_id ON ticket",
        _sqlite_reindex("t.id = NEW.id"),
    ),
    "filter_ticket_del": ("AFTER DELETE ON ticket", "DELETE FROM search_filter WHERE rowid = OLD.id;"),
    "filter_customer_upd": ("AFTER UPDATE OF name, email ON customer", _sqlite_reindex("t.customer_id = NEW.id")),
    "filter_customer_del": ("AFTER DELETE ON customer", _sqlite_reindex("t.customer_id = OLD.id")),
    "filter_order_upd": ("AFTER UPDATE OF number ON esim_order", _sqlite_reindex("t.order_id = NEW.id")),
    "filter_order_del": ("AFTER DELETE ON esim_order", _sqlite_reindex("t.order_id = OLD.id")),
}


def _sqlite_upgrade() -> None:
    op.execute("CREATE VIRTUAL TABLE search_filter USING fts5(doc, tokenize = 'trigram', detail = 'none')")
    for name, (when, body) in _SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
    op.execute(f"INSERT INTO search_filter(rowid, doc) SELECT t.id, {_doc('char(31)')} {_FROM}")


def _sqlite_downgrade() -> None:
    for name in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_filter")


# -- PostgreSQL -------------------------------------------------------------------------
def _pg_has_trgm() -> bool:
    """Create the pg_trgm extension if this account may (a savepoint keeps a refusal harmless)."""
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first() is None:
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    except Exception:  # noqa: BLE001 - no privilege: the table is scanned instead
        return False


_PG_TRIGGERS = {
    "filter_ticket": "AFTER INSERT OR UPDATE OF reference, subject, customer_id, order_id ON ticket",
    "filter_customer": "AFTER UPDATE OF name, email OR DELETE ON customer",
    "filter_order": "AFTER UPDATE OF number OR DELETE ON esim_order",
}


def _pg_upgrade() -> None:
    trgm = _pg_has_trgm()
    op.execute(
        "CREATE TABLE search_filter (ticket_id integer PRIMARY KEY REFERENCES ticket(id) ON DELETE CASCADE, "
        "doc text NOT NULL)"
    )
    op.execute(f"""
CREATE FUNCTION search_filter_reindex(tids integer[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO search_filter(ticket_id, doc)
  SELECT t.id, {_doc("chr(31)")} {_FROM}
  WHERE t.id = ANY(tids)
  ON CONFLICT (ticket_id) DO UPDATE SET doc = EXCLUDED.doc
$$""")
    op.execute("""
CREATE FUNCTION search_filter_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'ticket' THEN
    PERFORM search_filter_reindex(ARRAY[NEW.id]);
  ELSIF TG_TABLE_NAME = 'customer' THEN
    PERFORM search_filter_reindex(ARRAY(SELECT id FROM ticket WHERE customer_id = OLD.id));
  ELSE
    PERFORM search_filter_reindex(ARRAY(SELECT id FROM ticket WHERE order_id = OLD.id));
  END IF;
  RETURN NULL;
END $$""")
    for name, when in _PG_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH ROW EXECUTE FUNCTION search_filter_on_change()")
    op.execute(f"INSERT INTO search_filter(ticket_id, doc) SELECT t.id, {_doc('chr(31)')} {_FROM}")
    if trgm:
        op.execute("CREATE INDEX ix_search_filter_doc ON search_filter USING gin (doc gin_trgm_ops)")


def _pg_downgrade() -> None:
    for name, when in _PG_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {when.rsplit(' ON ', 1)[1]}")
    op.execute("DROP FUNCTION IF EXISTS search_filter_on_change()")
    op.execute("DROP FUNCTION IF EXISTS search_filter_reindex(integer[])")
    op.execute("DROP TABLE IF EXISTS search_filter")


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
