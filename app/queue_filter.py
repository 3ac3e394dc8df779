"""The queue filter's text condition: what "the ticket matches the typed text" is in SQL.

A ticket matches when its reference, subject, customer name or email, or
order number contains the text, or when it matches the text as a full-text
query (app/search.py). No Textual here.

The substring part is answered by the trigram index of migration 0015
(`search_filter`: one document per ticket, the five fields joined by the unit
separator) when the text has at least three characters; shorter text has no
trigram and is matched over the joined rows (a count), or over each row's
own document (a page walking the view in order). All give the same
tickets: SQLite's LIKE (ASCII case-insensitive) or PostgreSQL's ILIKE over
the joined document equals the OR of it over each field, since the
separator is never in the text. A page that walks the view in order on
SQLite looks each row up among the documents holding every trigram of the
text (the index alone, no document read) before testing its own document
(read by primary key from the FTS5 table's copy, `search_filter_content`).
"""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any

from sqlalchemy import Text, and_, cast, column, exists, func, literal, literal_column, or_, select, table, union
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session, col

from app import search, search_words
from models import Customer, Order, Ticket

SEP = "\x1f"  # joins the fields of a search_filter document (migration 0015)
MIN_TRIGRAM = 3  # shorter text has no trigram: the joined rows are scanned
# a page sorts the index's matches while they number under
# max(MIN_CAP, sqrt(CAP_FACTOR x tickets)); past that it walks the view in order
MIN_CAP, CAP_FACTOR = 500, 35
# SQLite walking the view: while the trigram index's candidates number under
# max(MIN_DENSE, tickets / DENSE_SHARE) each row is looked up among them (hashed
# once); past that each row's own document is tested instead
MIN_DENSE, DENSE_SHARE = 20_000, 10

_FILTER = table("search_filter", column("rowid"), column("ticket_id"), column("doc"))
# SQLite: the FTS5 table keeps each document in this table of its own (migration 0015)
_CONTENT = table("search_filter_content", column("id"), column("c0"))

_REF_PREFIX = re.compile(r"^(CMP|ESC|RFD|INQ)-[0-9-]*$", re.IGNORECASE)
_FULL_REF = re.compile(r"^(CMP|ESC|RFD|INQ)-[0-9]{4}-[0-9]{6}$")
_ORDER_PREFIX = re.compile(r"^ORD-[0-9A-Z-]+$", re.IGNORECASE)


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _pattern(needle: str) -> str:
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _like(session: Session, column: Any, pattern: str) -> ColumnElement[bool]:
    # SQLite's LIKE is already case-insensitive for ASCII and much cheaper than lower()
    if _is_sqlite(session):
        return column.like(pattern, escape="\\")  # type: ignore[no-any-return]
    return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]


def indexed(needle: str) -> bool:
    """The trigram index answers the substring match of `needle`."""
    return len(needle) >= MIN_TRIGRAM and SEP not in needle


def substring_ids(session: Session, needle: str) -> Select[Any]:
    """SELECT of the ids of the tickets whose fields contain `needle` (the
    trigram index; `indexed(needle)` must hold)."""
    exact = _pattern(needle)
    if not _is_sqlite(session):
        return select(_FILTER.c.ticket_id).where(_FILTER.c.doc.ilike(exact, escape="\\"))
    # FTS5 hands a two-argument LIKE to its trigram index (not one with ESCAPE):
    # the text as a pattern finds a superset (a % or _ in it only widens), the
    # escaped pattern then keeps the exact matches
    rough = "%" + needle + "%"
    doc: ColumnElement[str] = literal_column("search_filter.doc")
    stmt = select(_FILTER.c.rowid).where(doc.like(rough))
    if rough != exact:
        stmt = stmt.where(doc.like(exact, escape="\\"))
    return stmt


def _trigrams(needle: str) -> str:
    """FTS5 MATCH text of every trigram of `needle` (3 characters or more):
    the documents holding them all, read from the index alone (detail=none
    keeps no positions), a superset of those containing `needle` (the
    trigrams are case-folded; LIKE folds ASCII alone)."""
    grams = sorted({needle[i : i + 3] for i in range(len(needle) - 2)})
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


def _candidates(needle: str) -> Select[Any]:
    """SQLite: SELECT of the rowids of the documents holding every trigram of `needle`."""
    match = literal_column("search_filter").op("MATCH")(literal(_trigrams(needle)))
    return select(_FILTER.c.rowid).where(match)


def _own_like(needle: str) -> ColumnElement[bool]:
    """SQLite: the ticket's own document contains `needle`: one read of the
    FTS5 table's own copy of it (`search_filter_content`, column c0, keyed by
    the rowid) by primary key, not through the virtual table (its cursor cost
    a third more per row: 'cm' walked 17,900 rows at 1,000,000 tickets, 33 ms
    that way, 22 ms this)."""
    doc = select(_CONTENT.c.c0).where(_CONTENT.c.id == col(Ticket.id)).scalar_subquery()
    return doc.like(_pattern(needle), escape="\\")


def _pg_own_like(needle: str) -> ColumnElement[bool]:
    """PostgreSQL: the ticket's own document (one primary-key read) contains
    `needle`, kept per row (OFFSET 0) like the full-text test."""
    own = select(_FILTER.c.ticket_id).where(
        _FILTER.c.ticket_id == col(Ticket.id), _FILTER.c.doc.ilike(_pattern(needle), escape="\\")
    )
    return exists(own.offset(0))


def _among(ids: Select[Any]) -> ColumnElement[bool]:
    """SQLite: the ticket is one of `ids` (a list hashed once; `+`: the list
    never leads the plan, so a page walks the view's index in order)."""
    return literal_column("+ticket.id").in_(ids)


def needs_join(text: str) -> bool:
    """The unordered condition (`condition(..., ordered=False)`) reads the
    customer and order rows beside the ticket."""
    needle = text.strip()
    if not needle or _REF_PREFIX.match(needle) or _prefix_order(needle):
        return False
    return not indexed(needle) and not _syntax(needle, search.parse(needle, lenient=True))


def _syntax(needle: str, q: search.Query | None) -> bool:
    """Query syntax ("phrase", -word): the full-text match alone."""
    return q is not None and ('"' in needle or any(w.startswith("-") for w in needle.split()))


def _prefix_order(needle: str) -> bool:
    return bool(_ORDER_PREFIX.match(needle)) and len(needle) > 5


def _tickets(session: Session) -> int:
    """About how many tickets the desk holds (the highest id: one index read)."""
    return int(session.scalar(select(func.max(Ticket.id))) or 0)


def _cap(tickets: int) -> int:
    """How many matches a sorted page of them affords: about sqrt(35 x
    tickets) (past it, walking the view in order reads fewer rows: some
    69 x tickets / matches)."""
    return max(MIN_CAP, math.isqrt(CAP_FACTOR * tickets))


# A capped count only chooses how a page is read (every choice gives the same
# rows), so a filter's next pages (the table's read-ahead: 5-12 reads a move)
# reuse it for a while instead of counting up to 100,000 candidates again.
CHOICE_SECONDS, CHOICES_KEPT = 30.0, 64
_choices: dict[tuple[int, str, str, str, int], tuple[float, int]] = {}
_choices_lock = threading.Lock()


def _capped(session: Session, ids: Select[Any], cap: int) -> int:
    """How many rows `ids` holds, counted up to `cap`."""
    return int(session.scalar(select(func.count()).select_from(ids.limit(cap).subquery())) or 0)


def _capped_kept(session: Session, what: tuple[str, str], ids: Select[Any], cap: int) -> int:
    """`_capped`, or the count made for the same `what` (what `ids` is, and the
    text) on this desk in the last CHOICE_SECONDS."""
    engine = session.get_bind().engine
    key = (id(engine), str(engine.url), *what, cap)
    now = time.monotonic()
    with _choices_lock:
        hit = _choices.get(key)
    if hit is not None and now - hit[0] < CHOICE_SECONDS:
        return hit[1]
    n = _capped(session, ids, cap)
    with _choices_lock:
        if len(_choices) >= CHOICES_KEPT:
            _choices.clear()
        _choices[key] = (now, n)
    return n


def _many(session: Session, what: tuple[str, str], ids: Select[Any]) -> bool:
    """`ids` (`what`: what it is, and the text) holds more tickets than a sorted page of them affords."""
    cap = _cap(_tickets(session))
    return _capped_kept(session, what, ids, cap) >= cap


def _sqlite_walk(session: Session, needle: str, q: search.Query | None) -> ColumnElement[bool] | None:
    """SQLite, a page of `needle` (trigram-indexed) in view order: None while
    the index's candidates are few enough to sort (`condition`'s set); else
    the test of each row in order. The full-text matches are a list hashed
    once; the substring half is, while the candidates number under a tenth
    of the desk, the candidates (hashed once, from the index alone) and then
    the row's own document; past that, the row's own document alone ('cmp':
    558,000 candidates at 1,000,000 tickets, 150 ms to hash, and the first
    complaint due 15,800 rows down the view). Materializing the LIKE's
    matches instead read every candidate's document ('tok': 60,000, 100 ms)."""
    tickets = _tickets(session)
    cap = _cap(tickets)
    dense = max(MIN_DENSE, cap, tickets // DENSE_SHARE)
    n = _capped_kept(session, ("trigram candidates", needle), _candidates(needle), dense)
    if n < cap:
        return None
    own = _own_like(needle)
    fts = [] if q is None else [_among(search.matching_ids(session, q))]
    # (the full-text list is made only when a row fails the substring test first)
    if n < dense:
        return or_(and_(_among(_candidates(needle)), own), *fts)
    return or_(own, *fts)


# the queue filter's walk in due order (migration 0029, app/search_words.py)
WALK = table("filter_walk", column("ticket_id"), column("due_key"), column("due_at"), column("doc"), column("words"))


def walk_match(session: Session, text: str, *, counted: bool = True) -> ColumnElement[bool] | None:
    """SQL over `WALK`: its row matches `text` (the same tickets as
    `condition`), for a page of All that walks the due order; None when
    `condition` reads such a page otherwise (a reference or order prefix,
    query syntax, few enough trigram matches to sort). Terms of one ASCII
    word each are tested on the row's words; others ("ord-1": two words in a
    row), by the full-text index.
    `counted=False`: PostgreSQL does not count the substring matches first
    (its walk has a budget of rows instead: app.queue_walk `within`)."""
    needle = text.strip()
    if not needle or SEP in needle or _REF_PREFIX.match(needle) or _prefix_order(needle):
        return None
    q = search.parse(needle, lenient=True)
    if q is not None and _syntax(needle, q):
        return None
    sqlite = _is_sqlite(session)
    terms = search_words.plain_terms(q) if sqlite else _pg_words(session, q)
    if indexed(needle) and sqlite:
        cap = _cap(_tickets(session))
        if _capped_kept(session, ("trigram candidates", needle), _candidates(needle), cap) < cap:
            return None
    elif indexed(needle) and counted and not _many(session, ("substring", needle), substring_ids(session, needle)):
        return None
    # (PostgreSQL: the document is stored lowercased, migration 0029: the ILIKE's own lowering)
    pattern = _pattern(needle)
    doc = WALK.c.doc.like(pattern if sqlite else func.lower(pattern), escape="\\")
    if q is None:
        return doc
    if terms is None:  # the full-text match of each row failing the substring test (as `condition`'s walk)
        # (SQLite: `+`, so the list never leads the plan: the walk keeps its order)
        tid = literal_column("+filter_walk.ticket_id") if sqlite else WALK.c.ticket_id
        return or_(doc, search.row_condition(session, q, tid))
    return or_(doc, and_(*[WALK.c.words.like(p) for p in search_words.like_patterns(terms)]))


def _pg_words(session: Session, q: search.Query | None) -> list[tuple[str, bool]] | None:
    """PostgreSQL: (lexeme, is a prefix) of each term of `q` when each one's
    tsquery is one lexeme (one round trip), else None."""
    if search_words.plain_terms(q) is None or q is None:
        return None
    row = session.execute(select(*[cast(search.pg_term(t, i), Text) for i, t in enumerate(q.include)])).one()
    found = [search_words.tsquery_word(str(r)) for r in row]
    return None if any(f is None for f in found) else [f for f in found if f is not None]


def halves(session: Session, text: str) -> list[Select[Any]]:
    """SELECTs of the ids the substring match and the full-text match find,
    when `condition(text)` is their union; [] when it is no such union (a
    reference or order prefix, query syntax). Either half holding more than
    n tickets means the filter does too: a capped count of every ticket asks
    them first (app/queue_query.py `count`), each stopping at n + 1, instead
    of building the union whole (the "ord" or "cmp" list of 500,000 tickets
    took 1.2-3.6 s to count at 1,000,000). The indexes hold one document per
    ticket (kept by triggers in the ticket's own transaction)."""
    needle = text.strip()
    if not needle or _REF_PREFIX.match(needle) or _prefix_order(needle):
        return []
    q = search.parse(needle, lenient=True)
    if q is not None and _syntax(needle, q):
        return []
    fts = [] if q is None else [search.matching_ids(session, q)]
    if indexed(needle):
        return [substring_ids(session, needle), *fts]
    rows = (
        select(col(Ticket.id))
        .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
        .outerjoin(Order, col(Order.id) == col(Ticket.order_id))
    )
    return [rows.where(_fields_like(session, needle)), *fts]


def _fields_like(session: Session, needle: str) -> ColumnElement[bool]:
    """SQL: a field of the ticket, its customer or its order contains `needle` (the joined rows)."""
    pattern = _pattern(needle)
    fields = (Ticket.reference, Ticket.subject, Customer.name, Customer.email, Order.number)
    return or_(*[_like(session, col(f), pattern) for f in fields])


def condition(session: Session, text: str, *, ordered: bool = False) -> tuple[ColumnElement[bool], bool]:
    """(SQL: reference, customer name/email, subject or order number contains
    `text`, or the ticket matches it as a full-text query (app/search.py);
    whether it reads the customer and order rows beside the ticket).

    A reference or order-number prefix ("CMP-2026-00012") is a range on the
    unique index. Other text of three characters or more: the tickets the
    trigram index finds (with the full-text matches, one set); but for a page
    (`ordered`) of text most tickets contain, the rows in view order are
    tested one by one until the page is full. Shorter text: tested row by row.
    """
    needle = text.strip()
    if _REF_PREFIX.match(needle):
        up = needle.upper()
        prefix = and_(col(Ticket.reference) >= up, col(Ticket.reference) < up + "\uffff")
        if ordered and _many(session, ("reference prefix", up), select(col(Ticket.id)).where(prefix)):
            # most references begin so ("CMP-"): the view's order, not the range, leads
            ref = col(Ticket.reference).concat("")
            prefix = and_(ref >= up, ref < up + "\uffff")
        if not _FULL_REF.match(up):
            return prefix, False
        # a whole reference of a merged ticket also finds the ticket it joined (app/workflow/merge.py);
        # looked up first (one indexed read), so an unmerged reference keeps the plain range
        into = session.scalar(select(col(Ticket.merged_into_id)).where(col(Ticket.reference) == up))
        return (prefix if into is None else or_(prefix, col(Ticket.id) == into)), False
    if _prefix_order(needle):
        up = needle.upper()
        return col(Ticket.order_id).in_(
            select(col(Order.id)).where(col(Order.number) >= up, col(Order.number) < up + "\uffff")
        ), False
    # full text (app/search.py): messages, notes, phone, words in any order,
    # the last word a prefix while typing; query syntax ("phrase", -word)
    # replaces the substring match, plain words add to it
    q = search.parse(needle, lenient=True)
    if q is not None and _syntax(needle, q):
        return search.condition(session, q), False
    if indexed(needle):
        sqlite = _is_sqlite(session)
        walk = _sqlite_walk(session, needle, q) if ordered and sqlite else None
        if walk is not None:
            return walk, False
        if sqlite or not (ordered and _many(session, ("substring", needle), substring_ids(session, needle))):
            ids = substring_ids(session, needle)
            return col(Ticket.id).in_(ids if q is None else union(ids, search.matching_ids(session, q))), False
    if ordered and SEP not in needle:
        # walking the view: each row's own document (one primary-key read) rather than its
        # customer and order rows (two, and the ticket's own row for its subject)
        doc = _own_like(needle) if _is_sqlite(session) else _pg_own_like(needle)
        return (doc if q is None else or_(doc, search.row_condition(session, q))), False
    like = _fields_like(session, needle)
    return (like if q is None else or_(like, search.row_condition(session, q))), True


__all__ = ["MIN_TRIGRAM", "SEP", "WALK", "condition", "halves", "indexed", "needs_join", "substring_ids", "walk_match"]
