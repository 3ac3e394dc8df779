"""filter walk: the queue filter's page read from one narrow table in due order

A filter most tickets match somewhere ('cm', 'to', 'tok') reads a page of
All by walking the due order and testing each row until the page is full
(app/queue_filter.py): at 1,000,000 tickets 15,000-17,000 rows for 'cm' or
'tok'. Each row's substring document was read by its key (SQLite: 40-46 ms
for those rows), and its full-text half was the list of every matching
ticket made first ('cm': 550,000 tickets, 80-150 ms on SQLite) or, on
PostgreSQL, a second read by key per row (about 6 us a row for both).

`filter_walk` holds, per ticket, the due instant (the order of the walk), the
substring document (`search_filter`'s) and the words of the search document
(app/search_words.py), kept by triggers in the transaction of each change:
- SQLite: a WITHOUT ROWID table in (due_key, ticket_id) order (due_key: the
  stored due_at, '' without one), so the walk reads the table itself in
  order; a unique index on ticket_id. The triggers that write a document
  (search_fts, search_filter) upsert its copy from what they just wrote
  (the FTS5 table's own stored text, words by the SQL function search_words);
  a change of due_at moves the row; a ticket's delete removes it.
- PostgreSQL: a table keyed by ticket_id with an index on (due_at,
  ticket_id); row triggers on search_doc (the words: its tsvector's lexemes)
  and search_filter (the document, lowercased: ILIKE lowercases both sides
  and then compares, so `lower(doc) LIKE lower(pattern)` is the same test
  without lowering every row it walks) upsert it, one on ticket moves it.
The ticket table and its indexes are unchanged: a ticket update that leaves
due_at as it was writes nothing here (PostgreSQL keeps its in-place update).
PostgreSQL's table is written in the walk's order (fillfactor 80: a new words
list stays on its page): read in ticket order, a walk of 17,000 rows read
14,000 pages (90 ms at 1,000,000 tickets; 15-20 ms in order).

Upgrade cost, the bench desks (2 CPUs shared, load 7): SQLite 1,000,000
tickets 41 s wall (15 s CPU), the file +396 MB (4.39 -> 4.78 GB); 100,000:
5.8 s, +39 MB. PostgreSQL 1,000,000: 24 s, +503 MB (5.6 -> 6.1 GB; the
table 440 MB, its two indexes); 100,000: 3 s. The desk is locked for
writing meanwhile.

Writes: `python -m bench intake` A/B against 0027 in the same minutes (load
3-7, 10,100 messages, 4 pairs): SQLite +50 us client CPU a message (0.87 ->
0.92 ms; the words of each rebuilt document, ~16 us, and the row's upserts);
PostgreSQL +55 us server CPU a message (1.09 -> 1.15 ms, 2 pairs), client
unchanged.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# -- SQLite ---------------------------------------------------------------------------
# (the document table a trigger's INSERT writes, its FTS5 content table, the columns copied)
_SQLITE_COPIES = {
    "search_fts": ("search_fts_content", "words", "search_words(f.c0, f.c1, f.c2, f.c3, f.c4)"),
    "search_filter": ("search_filter_content", "doc", "f.c0"),
}
SQLITE_TABLE = (
    "CREATE TABLE filter_walk (due_key TEXT NOT NULL, ticket_id INTEGER NOT NULL, "
    "doc TEXT NOT NULL DEFAULT '', words TEXT NOT NULL DEFAULT '', PRIMARY KEY (due_key, ticket_id)) WITHOUT ROWID"
)
_SQLITE_OWN = {
    "filter_walk_due": (
        "AFTER UPDATE OF due_at ON ticket WHEN OLD.due_at IS NOT NEW.due_at",
        "UPDATE filter_walk SET due_key = coalesce(NEW.due_at, '') WHERE ticket_id = NEW.id;",
    ),
    "filter_walk_del": ("AFTER DELETE ON ticket", "DELETE FROM filter_walk WHERE ticket_id = OLD.id;"),
}


def sqlite_copy(table: str, where: str) -> str:
    """The upsert of the filter_walk rows of the tickets `t` matching `where`
    from `table`'s stored documents (`table`: search_fts or search_filter)."""
    content, column, value = _SQLITE_COPIES[table]
    return (
        f"INSERT INTO filter_walk(due_key, ticket_id, {column}) SELECT coalesce(t.due_at, ''), t.id, {value} "
        f"FROM ticket t JOIN {content} f ON f.id = t.id WHERE {where} "
        f"ON CONFLICT(ticket_id) DO UPDATE SET {column} = excluded.{column};"
    )


def _with_copy(sql: str) -> str | None:
    """A stored trigger that writes a document, with the copy after its write (None: it writes none)."""
    for table in _SQLITE_COPIES:
        head = f"INSERT INTO {table}("
        if head not in sql or "filter_walk" in sql:
            continue
        insert = sql[sql.index(head) :]
        insert = insert[: insert.index(";")]
        where = insert.rsplit(" WHERE ", 1)[1]
        end = sql.rindex("END")
        return sql[:end].rstrip() + " " + sqlite_copy(table, where) + " " + sql[end:]
    return None


def _sqlite_triggers() -> dict[str, str]:
    rows = op.get_bind().exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    return {str(name): str(sql) for name, sql in rows}


def _sqlite_upgrade() -> None:
    op.execute(SQLITE_TABLE)
    op.execute("CREATE UNIQUE INDEX ux_filter_walk_ticket ON filter_walk (ticket_id)")
    for name, sql in _sqlite_triggers().items():
        changed = _with_copy(sql)
        if changed is not None:
            op.execute(f"DROP TRIGGER {name}")
            op.execute(changed)
    for name, (when, body) in _SQLITE_OWN.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
    op.execute(sqlite_fill("1 = 1"))


def sqlite_fill(where: str) -> str:
    """The filter_walk rows of the tickets `t` matching `where`, from their stored documents."""
    return (
        "INSERT OR REPLACE INTO filter_walk(due_key, ticket_id, doc, words) "
        "SELECT coalesce(t.due_at, ''), t.id, coalesce(d.c0, ''), "
        "coalesce(search_words(f.c0, f.c1, f.c2, f.c3, f.c4), '') FROM ticket t "
        "LEFT JOIN search_filter_content d ON d.id = t.id LEFT JOIN search_fts_content f ON f.id = t.id "
        f"WHERE {where} ORDER BY 1, 2"
    )


def _sqlite_downgrade() -> None:
    for name in _SQLITE_OWN:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name, sql in _sqlite_triggers().items():
        if "filter_walk" in sql:
            op.execute(f"DROP TRIGGER {name}")
            op.execute(sql[: sql.index(" INSERT INTO filter_walk")] + " END")
    op.execute("DROP TABLE IF EXISTS filter_walk")


# -- PostgreSQL -------------------------------------------------------------------------
PG_WORDS = "CASE WHEN length(d) = 0 THEN '' ELSE ' ' || array_to_string(tsvector_to_array(d), ' ') || ' ' END"
_PG = [
    "CREATE TABLE filter_walk (ticket_id integer PRIMARY KEY REFERENCES ticket(id) ON DELETE CASCADE, "
    "due_at timestamp with time zone, doc text NOT NULL DEFAULT '', words text NOT NULL DEFAULT '') "
    "WITH (fillfactor = 80)",
    f"""CREATE FUNCTION filter_walk_words(d tsvector) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT {PG_WORDS}
$$""",
    """CREATE FUNCTION filter_walk_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'ticket' THEN
    UPDATE filter_walk SET due_at = NEW.due_at WHERE ticket_id = NEW.id;
  ELSIF TG_TABLE_NAME = 'search_doc' THEN
    INSERT INTO filter_walk(ticket_id, due_at, words)
    SELECT t.id, t.due_at, filter_walk_words(NEW.doc) FROM ticket t WHERE t.id = NEW.ticket_id
    ON CONFLICT (ticket_id) DO UPDATE SET words = EXCLUDED.words;
  ELSE
    INSERT INTO filter_walk(ticket_id, due_at, doc)
    SELECT t.id, t.due_at, lower(NEW.doc) FROM ticket t WHERE t.id = NEW.ticket_id
    ON CONFLICT (ticket_id) DO UPDATE SET doc = EXCLUDED.doc;
  END IF;
  RETURN NULL;
END $$""",
    "CREATE TRIGGER filter_walk_due AFTER UPDATE OF due_at ON ticket FOR EACH ROW "
    "WHEN (OLD.due_at IS DISTINCT FROM NEW.due_at) EXECUTE FUNCTION filter_walk_on_change()",
    "CREATE TRIGGER filter_walk_words AFTER INSERT OR UPDATE OF doc ON search_doc FOR EACH ROW "
    "EXECUTE FUNCTION filter_walk_on_change()",
    "CREATE TRIGGER filter_walk_doc AFTER INSERT OR UPDATE OF doc ON search_filter FOR EACH ROW "
    "EXECUTE FUNCTION filter_walk_on_change()",
]
PG_FILL = (
    "INSERT INTO filter_walk(ticket_id, due_at, doc, words) "
    "SELECT t.id, t.due_at, lower(coalesce(f.doc, '')), coalesce(filter_walk_words(d.doc), '') FROM ticket t "
    "LEFT JOIN search_filter f ON f.ticket_id = t.id LEFT JOIN search_doc d ON d.ticket_id = t.id"
)
# written in the walk's order: a page's rows lie together (a walk of 17,000 rows read
# 14,000 pages of the table in ticket order, 90 ms at 1,000,000 tickets)
PG_FILL_ORDER = " ORDER BY t.due_at, t.id"


def _pg_upgrade() -> None:
    for sql in _PG:
        op.execute(sql)
    op.execute(PG_FILL + PG_FILL_ORDER)
    op.execute("CREATE INDEX ix_filter_walk_due ON filter_walk (due_at, ticket_id)")
    op.execute("ANALYZE filter_walk")


def _pg_downgrade() -> None:
    for name, table in (
        ("filter_walk_due", "ticket"),
        ("filter_walk_words", "search_doc"),
        ("filter_walk_doc", "search_filter"),
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP TABLE IF EXISTS filter_walk")
    op.execute("DROP FUNCTION IF EXISTS filter_walk_on_change()")
    op.execute("DROP FUNCTION IF EXISTS filter_walk_words(tsvector)")


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
