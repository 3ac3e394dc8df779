"""search: word pairs beside the PostgreSQL document, so a phrase is found by its index

PostgreSQL's GIN index over a tsvector holds words, not their positions: a
phrase of common words ("the esim stopped") matched every ticket holding all
three words, each then re-read to check their order (0.7 s at 1,000,000
messages). `search_doc.pairs` holds each pair of neighbouring words of the
document as one lexeme ("esim_stopped"), computed by the database from the
document itself (a generated column: it follows every change of `doc`), with
its own GIN index; a phrase asks for its pairs first, then for its order.
SQLite's FTS5 index keeps positions: nothing changes there.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
CREATE FUNCTION search_pairs(d tsvector) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.lexeme || '_' || b.lexeme)), ''::tsvector)
  FROM (SELECT lexeme, unnest(positions) AS pos FROM unnest(d)) a
  JOIN (SELECT lexeme, unnest(positions) AS pos FROM unnest(d)) b ON b.pos = a.pos + 1
$$""")
    # the pairs of a text as the query "every pair" (NULL: fewer than two words)
    op.execute("""
CREATE FUNCTION search_pairs_query(t text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg(quote_literal(l), ' & ')
  FROM unnest(tsvector_to_array(search_pairs(to_tsvector('simple', search_norm(t))))) AS l
$$""")
    op.execute("ALTER TABLE search_doc ADD COLUMN pairs tsvector GENERATED ALWAYS AS (search_pairs(doc)) STORED")
    op.execute("CREATE INDEX ix_search_doc_pairs ON search_doc USING gin (pairs)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_search_doc_pairs")
    op.execute("ALTER TABLE search_doc DROP COLUMN IF EXISTS pairs")
    op.execute("DROP FUNCTION IF EXISTS search_pairs_query(text)")
    op.execute("DROP FUNCTION IF EXISTS search_pairs(tsvector)")
