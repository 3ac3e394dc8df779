"""search index: full text over tickets, customers, orders, messages and notes

One index document per ticket, kept in step by database triggers in the same
transaction as the row that changed (the ORM and the prepared-statement intake
path alike):

- SQLite: FTS5 table `search_fts` (rowid = ticket id; columns refs, subject,
  customer, messages, notes), tokenizer unicode61 with remove_diacritics 2.
  SQLite 3.40 has no contentless-delete, so the table keeps its own copy of
  the text (needed to take a document out again).
- PostgreSQL: `search_doc(ticket_id, doc tsvector)` with a GIN index; the
  `simple` configuration (no stemming, as FTS5), text folded by
  `search_norm()`: unaccent when the extension can be created, else a fixed
  Latin transliteration (translate); punctuation becomes spaces so both
  engines split words alike. Weights: A refs, B subject and customer,
  C messages, D notes.

Messages and notes are each capped at SEARCH_TEXT_CAP characters per ticket
(PostgreSQL's tsvector has a 1 MB limit); the oldest text is kept.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SEARCH_TEXT_CAP = 300_000


# -- SQLite ---------------------------------------------------------------------------
def _sqlite_reindex(where: str) -> str:
    """Statements (for a trigger body) that rebuild the documents of the tickets `t` matching `where`."""
    return (
        f"DELETE FROM search_fts WHERE rowid IN (SELECT t.id FROM ticket t WHERE {where}); "
        "INSERT INTO search_fts(rowid, refs, subject, customer, messages, notes) "
        "SELECT t.id, t.reference || ' ' || coalesce(o.number, ''), t.subject, "
        "coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.phone, ''), "
        f"substr(coalesce(t.description, '') || ' ' || coalesce((SELECT group_concat(m.body, ' ') FROM message m "
        f"WHERE m.ticket_id = t.id AND m.kind <> 'note'), ''), 1, {SEARCH_TEXT_CAP}), "
        f"substr(coalesce((SELECT group_concat(m.body, ' ') FROM message m WHERE m.ticket_id = t.id AND m.kind = 'note'), ''), "
        f"1, {SEARCH_TEXT_CAP}) "
        f"FROM ticket t LEFT JOIN customer c ON c.id = t.customer_id LEFT JOIN esim_order o ON o.id = t.order_id WHERE {where};"
    )


_SQLITE_TRIGGERS = {
    "search_ticket_ins": ("AFTER INSERT ON ticket", _sqlite_reindex("t.id = NEW.id")),
    "search_ticket_upd": (
        "AFTER UPDATE OF reference, subject, description, customer_id, order_id ON ticket",
        _sqlite_reindex("t.id = NEW.id"),
    ),
    "search_ticket_del": ("AFTER DELETE ON ticket", "DELETE FROM search_fts WHERE rowid = OLD.id;"),
    "search_message_ins": ("AFTER INSERT ON message", _sqlite_reindex("t.id = NEW.ticket_id")),
    "search_message_upd": (
        "AFTER UPDATE OF body, kind, ticket_id ON message",
        _sqlite_reindex("t.id IN (OLD.ticket_id, NEW.ticket_id)"),
    ),
    "search_message_del": ("AFTER DELETE ON message", _sqlite_reindex("t.id = OLD.ticket_id")),
    "search_customer_upd": (
        "AFTER UPDATE OF name, email, phone ON customer",
        _sqlite_reindex("t.customer_id = NEW.id"),
    ),
    "search_order_upd": ("AFTER UPDATE OF number ON esim_order", _sqlite_reindex("t.order_id = NEW.id")),
}


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5(refs, subject, customer, messages, notes, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    # best first: references and order numbers weigh most, notes least
    op.execute("INSERT INTO search_fts(search_fts, rank) VALUES('rank', 'bm25(10.0, 5.0, 5.0, 1.0, 0.5)')")
    for name, (when, body) in _SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
    op.execute(_sqlite_reindex("1 = 1").split("; ", 1)[1].rstrip(";"))  # the existing desk's tickets


def _sqlite_downgrade() -> None:
    for name in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_fts")


# -- PostgreSQL -------------------------------------------------------------------------
def _latin_fold() -> tuple[str, str]:
    """(from, to) for translate(): Latin letters with diacritics -> base letter."""
    src, dst = [], []
    for cp in range(0xC0, 0x250):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if len(base) == 1 and base != ch and base.isascii():
            src.append(ch)
            dst.append(base)
    return "".join(src), "".join(dst)


def _pg_has_unaccent() -> bool:
    """Create the unaccent extension if this account may (a savepoint keeps a refusal harmless)."""
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'").first() is None:
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
        return True
    except Exception:  # noqa: BLE001 - no privilege: the fixed transliteration stands in
        return False


def _pg_upgrade() -> None:
    if _pg_has_unaccent():
        fold = "unaccent(coalesce(t, ''))"
    else:
        src, dst = _latin_fold()
        fold = f"translate(coalesce(t, ''), '{src}', '{dst}')"
    op.execute(
        "CREATE FUNCTION search_norm(t text) RETURNS text LANGUAGE sql STABLE AS "
        f"$$ SELECT regexp_replace({fold}, '[[:punct:]]+', ' ', 'g') $$"
    )
    op.execute(
        "CREATE TABLE search_doc (ticket_id integer PRIMARY KEY REFERENCES ticket(id) ON DELETE CASCADE, "
        "doc tsvector NOT NULL)"
    )
    cap = SEARCH_TEXT_CAP
    op.execute(f"""
CREATE FUNCTION search_reindex(tids integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_doc(ticket_id, doc)
  SELECT t.id,
    setweight(to_tsvector('simple', search_norm(t.reference || ' ' || coalesce(o.number, ''))), 'A') ||
    setweight(to_tsvector('simple', search_norm(t.subject)), 'B') ||
    setweight(to_tsvector('simple', search_norm(concat_ws(' ', c.name, c.email, c.phone))), 'B') ||
    setweight(to_tsvector('simple', search_norm(left(coalesce(t.description, '') || ' ' || coalesce(
      (SELECT string_agg(m.body, ' ' ORDER BY m.id) FROM message m WHERE m.ticket_id = t.id AND m.kind <> 'note'), ''),
      {cap}))), 'C') ||
    setweight(to_tsvector('simple', search_norm(left(coalesce(
      (SELECT string_agg(m.body, ' ' ORDER BY m.id) FROM message m WHERE m.ticket_id = t.id AND m.kind = 'note'), ''),
      {cap}))), 'D')
  FROM ticket t LEFT JOIN customer c ON c.id = t.customer_id LEFT JOIN esim_order o ON o.id = t.order_id
  WHERE t.id = ANY(tids)
  ON CONFLICT (ticket_id) DO UPDATE SET doc = EXCLUDED.doc;
END $$""")
    op.execute(f"""
CREATE FUNCTION search_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'ticket' THEN
    PERFORM search_reindex(ARRAY[NEW.id]);
  ELSIF TG_TABLE_NAME = 'message' THEN
    IF TG_OP = 'DELETE' THEN
      PERFORM search_reindex(ARRAY[OLD.ticket_id]);
      RETURN OLD;
    ELSIF TG_OP = 'INSERT' THEN
      -- a new message adds its words to the document (no re-reading of the
      -- thread); a document near tsvector's 1 MB limit is rebuilt (capped)
      UPDATE search_doc SET doc = doc || setweight(to_tsvector('simple', search_norm(left(NEW.body, {cap}))),
        CASE WHEN NEW.kind = 'note' THEN 'D' ELSE 'C' END::"char")
      WHERE ticket_id = NEW.ticket_id AND pg_column_size(doc) < 400000;
      IF NOT FOUND THEN
        PERFORM search_reindex(ARRAY[NEW.ticket_id]);
      END IF;
    ELSIF TG_OP = 'UPDATE' AND OLD.ticket_id <> NEW.ticket_id THEN
      PERFORM search_reindex(ARRAY[OLD.ticket_id, NEW.ticket_id]);
    ELSE
      PERFORM search_reindex(ARRAY[NEW.ticket_id]);
    END IF;
  ELSIF TG_TABLE_NAME = 'customer' THEN
    PERFORM search_reindex(ARRAY(SELECT id FROM ticket WHERE customer_id = NEW.id));
  ELSIF TG_TABLE_NAME = 'esim_order' THEN
    PERFORM search_reindex(ARRAY(SELECT id FROM ticket WHERE order_id = NEW.id));
  END IF;
  RETURN NEW;
END $$""")
    for name, when in _PG_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH ROW EXECUTE FUNCTION search_on_change()")
    op.execute("SELECT search_reindex(ARRAY(SELECT id FROM ticket))")  # the existing desk's tickets
    op.execute("CREATE INDEX ix_search_doc_doc ON search_doc USING gin (doc)")


_PG_TRIGGERS = {
    "search_ticket": ("AFTER INSERT OR UPDATE OF reference, subject, description, customer_id, order_id ON ticket"),
    "search_message": "AFTER INSERT OR DELETE OR UPDATE OF body, kind, ticket_id ON message",
    "search_customer": "AFTER UPDATE OF name, email, phone ON customer",
    "search_order": "AFTER UPDATE OF number ON esim_order",
}


def _pg_downgrade() -> None:
    for name, when in _PG_TRIGGERS.items():
        table = when.rsplit(" ON ", 1)[1]
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS search_on_change()")
    op.execute("DROP FUNCTION IF EXISTS search_reindex(integer[])")
    op.execute("DROP TABLE IF EXISTS search_doc")
    op.execute("DROP FUNCTION IF EXISTS search_norm(text)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _pg_upgrade()
    # what each person has seen of a ticket's customer mail (unread markers)
    op.create_table(
        "ticket_seen",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_id", "ticket_id"),
    )


def downgrade() -> None:
    op.drop_table("ticket_seen")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_downgrade()
    else:
        _pg_downgrade()
