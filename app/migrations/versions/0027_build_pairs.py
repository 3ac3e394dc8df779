"""build pairs: the PostgreSQL word pairs (0013) computed with one pass over the document

`search_pairs(doc)` makes the generated column `search_doc.pairs`: every
pair of lexemes at neighbouring positions of the document. It read the
document's positions twice (two unnests joined) and removed duplicate pairs
twice (array_agg DISTINCT, then array_to_tsvector, which keeps each lexeme
once anyway). It now reads the positions once (a materialised CTE joined to
itself) and leaves the duplicates to array_to_tsvector. The result is the
same tsvector for every document (checked on the 100,000 documents of the
bench desk and on documents past tsvector's position limit, where positions
repeat); searches find the same tickets.

Measured (backend CPU, 10,000 documents of the 100k bench desk, load 3-4):
the function 40 -> 29 us a document; search_reindex (the document, its
pairs and both GIN indexes; a demo build's search fill calls it) 152 -> 133
us a ticket.

Upgrade cost: the function is replaced, nothing is rewritten (the stored
pairs are what the new body computes): milliseconds at any size. SQLite:
nothing (its FTS5 index keeps positions).

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_PAIRS = """
CREATE OR REPLACE FUNCTION search_pairs(d tsvector) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH p AS MATERIALIZED (SELECT lexeme, unnest(positions) AS pos FROM unnest(d))
  SELECT coalesce(array_to_tsvector(array_agg(a.lexeme || '_' || b.lexeme)), ''::tsvector)
  FROM p a JOIN p b ON b.pos = a.pos + 1
$$"""

# 0013's body
_PAIRS_0013 = """
CREATE OR REPLACE FUNCTION search_pairs(d tsvector) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.lexeme || '_' || b.lexeme)), ''::tsvector)
  FROM (SELECT lexeme, unnest(positions) AS pos FROM unnest(d)) a
  JOIN (SELECT lexeme, unnest(positions) AS pos FROM unnest(d)) b ON b.pos = a.pos + 1
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PAIRS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PAIRS_0013)
