"""intake speed: a ticket's description is indexed once, not again as its first message

A ticket created from an email has the message's text as its description, and
the message itself is stored right after the ticket. The search document
(0006) held both: the description, then every message's body. So the message's
insert rebuilt the document the ticket's insert had just written (SQLite: an
FTS5 delete of the document and a second insert, ~330 us a message; PostgreSQL:
the document extended by the same words, its word pairs (0013) recomputed and
both GIN indexes written again), to add text the document already held.

The rule, for both engines, generated from `_OTHER_MESSAGES` below: the
document's message text is the description, then the bodies of the ticket's
messages (not notes) whose body is not that description. A message whose body
is its ticket's description therefore leaves the document as it is, and its
insert skips the rebuild (the SQLite trigger's WHEN, the PostgreSQL function's
early return). Every other trigger rebuilds with the new rule. What a search
finds is unchanged (the same words, once instead of twice); only ranking may
move slightly (bm25 / ts_rank count the text once).

Upgrade cost: the triggers and functions are replaced (milliseconds at any
size). Existing documents are not rebuilt: they hold the same words (the
duplicated text twice), so they match exactly as before, and each is rewritten
in the new form the next time its ticket, messages or customer change.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_0006 = importlib.import_module("app.migrations.versions.0006_search_index")
CAP = _0006.SEARCH_TEXT_CAP


def _other_messages(body_differs: str) -> str:
    """SQL condition on message `m` of ticket `t`: its body adds to the
    document (not a note, and not the ticket's description again)."""
    return f"m.ticket_id = t.id AND m.kind <> 'note' AND {body_differs}"


# -- SQLite ---------------------------------------------------------------------------
_SQLITE_OTHER = _other_messages("m.body IS NOT t.description")
# a new message that leaves the document as it is: its ticket's description again
_SQLITE_SAME = "NEW.kind <> 'note' AND NEW.body IS (SELECT t.description FROM ticket t WHERE t.id = NEW.ticket_id)"


def _sqlite_reindex(where: str) -> str:
    """Statements (for a trigger body) that rebuild the documents of the tickets `t` matching `where`."""
    return (
        f"DELETE FROM search_fts WHERE rowid IN (SELECT t.id FROM ticket t WHERE {where}); "
        "INSERT INTO search_fts(rowid, refs, subject, customer, messages, notes) "
        "SELECT t.id, t.reference || ' ' || coalesce(o.number, ''), t.subject, "
        "coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.phone, ''), "
        f"substr(coalesce(t.description, '') || ' ' || coalesce((SELECT group_concat(m.body, ' ') FROM message m "
        f"WHERE {_SQLITE_OTHER}), ''), 1, {CAP}), "
        f"substr(coalesce((SELECT group_concat(m.body, ' ') FROM message m WHERE m.ticket_id = t.id AND m.kind = 'note'), ''), "
        f"1, {CAP}) "
        f"FROM ticket t LEFT JOIN customer c ON c.id = t.customer_id LEFT JOIN esim_order o ON o.id = t.order_id WHERE {where};"
    )


def _sqlite_triggers() -> dict[str, tuple[str, str]]:
    """0006's triggers, each rebuilding with the new rule; the message insert skips a description."""
    out = {}
    for name, (when, body) in _0006._SQLITE_TRIGGERS.items():
        if "search_fts WHERE rowid = OLD.id" in body:  # a ticket's delete: nothing to build
            out[name] = (when, body)
            continue
        where = body.split("WHERE rowid IN (SELECT t.id FROM ticket t WHERE ", 1)[1].split("); ", 1)[0]
        out[name] = (when, _sqlite_reindex(where))
    when, body = out["search_message_ins"]
    out["search_message_ins"] = (f"{when} WHEN NOT ({_SQLITE_SAME})", body)
    return out


def _sqlite_replace(triggers: dict[str, tuple[str, str]]) -> None:
    for name, (when, body) in triggers.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")


# -- PostgreSQL -------------------------------------------------------------------------
def _pg_reindex(other: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION search_reindex(tids integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_doc(ticket_id, doc)
  SELECT t.id,
    setweight(to_tsvector('simple', search_norm(t.reference || ' ' || coalesce(o.number, ''))), 'A') ||
    setweight(to_tsvector('simple', search_norm(t.subject)), 'B') ||
    setweight(to_tsvector('simple', search_norm(concat_ws(' ', c.name, c.email, c.phone))), 'B') ||
    setweight(to_tsvector('simple', search_norm(left(coalesce(t.description, '') || ' ' || coalesce(
      (SELECT string_agg(m.body, ' ' ORDER BY m.id) FROM message m WHERE {other}), ''),
      {CAP}))), 'C') ||
    setweight(to_tsvector('simple', search_norm(left(coalesce(
      (SELECT string_agg(m.body, ' ' ORDER BY m.id) FROM message m WHERE m.ticket_id = t.id AND m.kind = 'note'), ''),
      {CAP}))), 'D')
  FROM ticket t LEFT JOIN customer c ON c.id = t.customer_id LEFT JOIN esim_order o ON o.id = t.order_id
  WHERE t.id = ANY(tids)
  ON CONFLICT (ticket_id) DO UPDATE SET doc = EXCLUDED.doc;
END $$"""


def _pg_on_change(skip_same: bool) -> str:
    same = (
        """
      IF NEW.kind <> 'note' AND NEW.body IS NOT DISTINCT FROM
         (SELECT t.description FROM ticket t WHERE t.id = NEW.ticket_id) THEN
        RETURN NEW;  -- its ticket's description again: the document holds it already
      END IF;"""
        if skip_same
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION search_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'ticket' THEN
    PERFORM search_reindex(ARRAY[NEW.id]);
  ELSIF TG_TABLE_NAME = 'message' THEN
    IF TG_OP = 'DELETE' THEN
      PERFORM search_reindex(ARRAY[OLD.ticket_id]);
      RETURN OLD;
    ELSIF TG_OP = 'INSERT' THEN{same}
      -- a new message adds its words to the document (no re-reading of the
      -- thread); a document near tsvector's 1 MB limit is rebuilt (capped)
      UPDATE search_doc SET doc = doc || setweight(to_tsvector('simple', search_norm(left(NEW.body, {CAP}))),
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
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_replace(_sqlite_triggers())
    else:
        op.execute(_pg_reindex(_other_messages("m.body IS DISTINCT FROM t.description")))
        op.execute(_pg_on_change(skip_same=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_replace(_0006._SQLITE_TRIGGERS)
    else:
        op.execute(_pg_reindex("m.ticket_id = t.id AND m.kind <> 'note'"))
        op.execute(_pg_on_change(skip_same=False))
