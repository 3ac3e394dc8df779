"""Full-text search over tickets (the shared search contract). No Textual here.

The query language: words (all must match, in any order, case- and
accent-insensitive), "an exact phrase", -word (or -"a phrase") to exclude;
the last word also matches as a prefix (so results follow typing). Each
ticket is one document in the database's own index (migration 0006: SQLite
FTS5, PostgreSQL tsvector + GIN), so words may come from different parts of
the ticket: the customer's name and a word from a mail.

`parse` turns text into a `Query` (malformed: InputError, one line);
`condition` is the SQL test "ticket matches" for other queries (the queue's
filter); `search` runs a query best match first; `describe` finds, for given
tickets, where the match is and a short snippet around it (inert).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlmodel import Session, col

from app.errors import InputError
from app.untrusted import inert
from models import Customer, Message, Order, Ticket
from models.enums import MessageKind

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
SNIPPET_CHARS = 160
MATCHED_IN = ("reference", "subject", "customer", "order", "message", "note")

_WORD = re.compile(r"[^\W_]+")  # a run of letters/digits: how both indexes split words
_ITEM = re.compile(r'\s*(-?)(?:"([^"]*)"|([^\s"]+))')

_FTS = table("search_fts", column("rowid"))
_DOC = table("search_doc", column("ticket_id"), column("doc"), column("pairs"))


@dataclass(frozen=True)
class Term:
    text: str  # as typed (a word or the inside of a phrase)
    prefix: bool = False  # the last word: matches any word it begins

    @property
    def tokens(self) -> list[str]:
        return [fold(w) for w in _WORD.findall(self.text)]


@dataclass(frozen=True)
class Query:
    include: tuple[Term, ...]
    exclude: tuple[Term, ...] = ()


def fold(word: str) -> str:
    """Case- and accent-free form of a word (for locating matches in Python)."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def parse(text: str, *, lenient: bool = False) -> Query | None:
    """The query in `text`. Malformed (unclosed quote, nothing to look for,
    too long): InputError, or with `lenient` (typing in the console) the best
    reading of it, None when it holds no word yet."""
    if len(text) > MAX_QUERY_CHARS:
        if not lenient:
            raise InputError(f"search query too long ({len(text)} characters; at most {MAX_QUERY_CHARS})")
        text = text[:MAX_QUERY_CHARS]
    if text.count('"') % 2:
        if not lenient:
            raise InputError('search query has an unclosed quote (")')
        text = text + '"'
    include: list[Term] = []
    exclude: list[Term] = []
    pos, last_plain = 0, False
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _ITEM.match(stripped, pos)
        if m is None:  # pragma: no cover - the pattern matches any non-blank rest
            break
        pos = m.end()
        neg, phrase, word = m.group(1), m.group(2), m.group(3)
        body = phrase if phrase is not None else word
        if not _WORD.search(body):
            if phrase is not None and not lenient:
                raise InputError('search query has an empty phrase ("")')
            continue  # punctuation alone: nothing to match
        (exclude if neg else include).append(Term(body))
        last_plain = not neg and phrase is None
    if len(include) + len(exclude) > MAX_TERMS and not lenient:
        raise InputError(f"search query has too many words (at most {MAX_TERMS})")
    if not include:
        if lenient:
            return None
        raise InputError("search query has no word to look for" + (" (only exclusions)" if exclude else ""))
    # the prefix is the last word's last token ("ord-1": "1"): one character would
    # match half the words of the desk (the numbers starting with 1, read with their
    # positions: 212 ms at 1,000,000 tickets for "ord-1", the filter's every page)
    tokens = _WORD.findall(include[-1].text) if last_plain else []
    if tokens and len(tokens[-1]) > 1:
        include[-1] = Term(include[-1].text, prefix=True)
    return Query(tuple(include), tuple(exclude))


# -- SQL ----------------------------------------------------------------------------------
def _fts_term(term: Term) -> str:
    return '"' + term.text.replace('"', '""') + '"' + ("*" if term.prefix else "")


def fts5_expression(q: Query) -> str:
    """The FTS5 MATCH string: each word a quoted phrase (FTS5 splits it as it split the text)."""
    expr = " AND ".join(_fts_term(t) for t in q.include)
    if q.exclude:
        expr = f"({expr}) NOT ({' OR '.join(_fts_term(t) for t in q.exclude)})"
    return expr


def pg_term(term: Term, n: int) -> ColumnElement[Any]:
    norm = func.search_norm(bindparam(f"sq_{n}", term.text))
    cfg: ColumnElement[Any] = literal_column("'simple'::regconfig")
    if not term.prefix:
        return func.phraseto_tsquery(cfg, norm)
    # words in a row, the last one a prefix: 'ord' <-> '2026' <-> '00':*
    spaced = func.regexp_replace(func.btrim(norm), r"\s+", " <-> ", "g")
    return func.to_tsquery(cfg, spaced.op("||")(":*"))


def pg_tsquery(q: Query) -> ColumnElement[Any]:
    """SQL: the tsquery of `q` (words folded by the database's own search_norm)."""
    terms = [pg_term(t, i) for i, t in enumerate(q.include)]
    expr: ColumnElement[Any] = terms[0]
    for term in terms[1:]:
        expr = expr.op("&&")(term)
    for i, t in enumerate(q.exclude, start=len(q.include)):
        expr = expr.op("&&")(func.tsquery_not(pg_term(t, i)))  # tsquery_not is the !! operator
    return expr


def _pg_queries(session: Session, q: Query) -> tuple[ColumnElement[Any], ColumnElement[Any] | None]:
    """The tsquery of `q` and, when a term holds neighbouring words, the
    tsquery of their pairs (migration 0013: `search_doc.pairs`), both made
    first (one short round trip) and bound as values: folded inline they
    would be evaluated per row, and a value lets the planner judge how many
    tickets match."""
    from sqlalchemy.dialects.postgresql import TSQUERY  # (here: SQLite's console never imports PostgreSQL's dialect)

    pairs = [func.search_pairs_query(bindparam(f"sp_{i}", t.text)) for i, t in enumerate(q.include) if not t.prefix]
    row = session.execute(select(cast(pg_tsquery(q), Text), *pairs)).one()
    tsq = cast(bindparam("tsq", row[0], type_=Text), TSQUERY)
    found = [p for p in row[1:] if p]
    if not found:
        return tsq, None
    return tsq, cast(bindparam("pairs_q", " & ".join(found), type_=Text), TSQUERY)


def _pg_condition(tsq: ColumnElement[Any], pairs: ColumnElement[Any] | None) -> ColumnElement[bool]:
    """SQL: the document matches; a phrase's pairs first (their index finds the
    few documents holding them; the order of the words is checked on those)."""
    match: ColumnElement[bool] = _DOC.c.doc.op("@@")(tsq)
    return match if pairs is None else and_(_DOC.c.pairs.op("@@")(pairs), match)


def _pg_match(session: Session, q: Query) -> ColumnElement[bool]:
    """SQL: the document matches `q`."""
    return _pg_condition(*_pg_queries(session, q))


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def matching_ids(session: Session, q: Query) -> Select[Any]:
    """SELECT of the ids of the tickets matching `q` (unordered)."""
    if _is_sqlite(session):
        return select(_FTS.c.rowid).where(
            literal_column("search_fts").op("MATCH")(bindparam("fts_q", fts5_expression(q)))
        )
    return select(_DOC.c.ticket_id).where(_pg_match(session, q))


def condition(session: Session, q: Query) -> ColumnElement[bool]:
    """SQL: Ticket matches `q` (for a WHERE clause)."""
    return col(Ticket.id).in_(matching_ids(session, q))


def row_condition(session: Session, q: Query, ticket_id: ColumnElement[Any] | None = None) -> ColumnElement[bool]:
    """SQL: Ticket matches `q`, for an OR beside other tests of the row.

    On PostgreSQL the ticket's own document is read (its primary key) and
    tested: an `id IN (matches)` inside an OR is a subplan, and when the
    matches are too many to hash ('ma' matches 280,000 documents at
    1,000,000 tickets) PostgreSQL scans the whole list for every row (over
    20 s for a page); and kept per row (OFFSET 0), since PostgreSQL would
    otherwise make the EXISTS a hashed list of every match all the same.
    SQLite hashes the list once: `condition`. `ticket_id`: the id tested (default Ticket.id)."""
    tid = col(Ticket.id) if ticket_id is None else ticket_id
    if _is_sqlite(session):
        return tid.in_(matching_ids(session, q))
    # OFFSET 0 keeps the test per row: PostgreSQL turns a plain EXISTS into a hashed list of
    # every match (simplify_EXISTS_query), read whole ('to' at 1,000,000: 186,000 documents, 0.6-3.4 s)
    own = select(_DOC.c.ticket_id).where(_DOC.c.ticket_id == tid, _pg_match(session, q))
    return exists(own.offset(0))


@dataclass(frozen=True)
class Hit:
    ticket_id: int
    reference: str
    kind: str
    status: str
    customer: str | None
    subject: str
    snippet: str
    matched_in: str

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "kind": self.kind,
            "status": self.status,
            "customer": inert(self.customer, single_line=True) if self.customer else None,
            "subject": inert(self.subject, single_line=True),
            "snippet": self.snippet,
            "matched_in": self.matched_in,
        }


RANK_WINDOW = 2000  # an unselective query ranks only its newest matches


def ranked_ids(
    session: Session, q: Query, *, limit: int = 20, kind: str | None = None, status: str | None = None
) -> list[int]:
    """Ticket ids matching `q`, best first.

    A query matching more than RANK_WINDOW tickets ("esim") ranks the
    RANK_WINDOW newest of them: each index hands its matches over newest
    first and stops there, so its cost does not grow with the desk."""
    filters: list[ColumnElement[bool]] = []
    if kind:
        filters.append(col(Ticket.kind) == kind)
    if status:
        filters.append(col(Ticket.status) == status)
    match: ColumnElement[Any]
    if _is_sqlite(session):
        match = literal_column("search_fts").op("MATCH")(bindparam("fts_q", fts5_expression(q)))
        newest = select(_FTS.c.rowid.label("id"), literal_column("search_fts.rank").label("rank")).select_from(_FTS)
        if filters:
            newest = newest.join(Ticket, col(Ticket.id) == _FTS.c.rowid)
        window = newest.where(match, *filters).order_by(_FTS.c.rowid.desc()).limit(RANK_WINDOW).subquery()
        stmt = select(window.c.id).order_by(window.c.rank, window.c.id.desc())
    else:
        tsq, pairs = _pg_queries(session, q)
        match = _pg_condition(tsq, pairs)
        newest = select(_DOC.c.ticket_id.label("id"), _DOC.c.doc)
        if filters:
            newest = newest.join(Ticket, col(Ticket.id) == _DOC.c.ticket_id)
        window = newest.where(match, *filters).order_by(_DOC.c.ticket_id.desc()).limit(RANK_WINDOW).subquery()
        stmt = select(window.c.id).order_by(func.ts_rank(window.c.doc, tsq).desc(), window.c.id.desc())
    return list(session.scalars(stmt.limit(limit)))


def search(
    session: Session, text: str, *, limit: int = 20, kind: str | None = None, status: str | None = None
) -> list[Hit]:
    """The tickets matching `text`, best first (InputError: malformed query or limit)."""
    if limit < 1:
        raise InputError(f"--limit must be at least 1 (got {limit})")
    q = parse(text)
    assert q is not None
    ids = ranked_ids(session, q, limit=limit, kind=kind, status=status)
    found = describe(session, ids, q)
    rows = session.execute(
        select(
            col(Ticket.id),
            col(Ticket.reference),
            col(Ticket.kind),
            col(Ticket.status),
            col(Customer.name),
            col(Customer.email),
            col(Ticket.subject),
        )
        .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
        .where(col(Ticket.id).in_(ids))
    ).all()
    by_id = {r[0]: r for r in rows}
    hits = []
    for tid in ids:
        r = by_id.get(tid)
        if r is None:
            continue
        snippet, where = found.get(tid, ("", "message"))
        hits.append(Hit(tid, r[1], r[2], r[3], r[4] or r[5], r[6] or "", snippet, where))
    return hits


# -- where it matched, and a snippet ------------------------------------------------------
_FOLDS: dict[str, str] = {}  # a base letter -> a regex class of every letter that folds to it


def _fold_classes() -> dict[str, str]:
    if not _FOLDS:
        groups: dict[str, set[str]] = {}
        # ASCII, Latin-1 and Latin Extended A/B, Greek, Cyrillic, Latin Extended Additional
        spans = ((0x30, 0x7B), (0xC0, 0x250), (0x370, 0x530), (0x1E00, 0x1F00))
        for ch in (chr(cp) for a, b in spans for cp in range(a, b)):
            if ch.isalnum():
                f = fold(ch)
                if len(f) == 1:
                    groups.setdefault(f, set()).update({ch, ch.upper(), ch.lower()})
        for base, chars in groups.items():
            _FOLDS[base] = "[" + "".join(sorted(re.escape(c) for c in chars if len(c) == 1)) + "]"
    return _FOLDS


def term_pattern(term: Term) -> re.Pattern[str]:
    """A regex finding `term` in raw text as the index does: whole words (the
    last one as a prefix when `term.prefix`), in a row, any case or accent."""
    classes = _fold_classes()
    words = ["".join(classes.get(c, re.escape(c)) for c in tok) for tok in term.tokens]
    tail = "" if term.prefix else r"(?![^\W_])"
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(words) + tail, re.IGNORECASE)


def _find(text: str, pattern: re.Pattern[str]) -> int | None:
    m = pattern.search(text)
    return None if m is None else m.start()


def snippet_at(text: str, offset: int, width: int = SNIPPET_CHARS) -> str:
    """Up to `width` characters of `text` around `offset`, on one line, inert."""
    before = " ".join(inert(text[max(0, offset - 400) : offset]).split())
    after = " ".join(inert(text[offset : offset + 800]).split())
    lead = before[-50:] if len(before) > 50 else before
    cut_left = len(lead) < len(before)
    s = ("…" if cut_left else "") + lead + (" " if before and text[offset - 1 : offset].isspace() else "") + after
    if len(s) > width:
        s = s[: width - 1] + "…"
    return s


def locate(fields: list[tuple[str, str]], q: Query) -> tuple[str, str] | None:
    """(snippet, matched_in) for the field holding the most of the query's
    words (the first such field in the order given), or None."""
    patterns = [term_pattern(t) for t in q.include]
    best: tuple[int, str, str, int] | None = None
    for where, raw in fields:
        if not raw:
            continue
        text = unicodedata.normalize("NFC", raw)
        offsets = [o for o in (_find(text, p) for p in patterns) if o is not None]
        if offsets and (best is None or len(offsets) > best[0]):
            best = (len(offsets), where, text, min(offsets))
            if len(offsets) == len(patterns):
                break
    if best is None:
        return None
    return snippet_at(best[2], best[3]), best[1]


def describe(session: Session, ids: list[int], q: Query) -> dict[int, tuple[str, str]]:
    """ticket id -> (snippet, matched_in) for tickets that match `q`."""
    if not ids:
        return {}
    fields: dict[int, list[tuple[str, str]]] = {}
    rows = session.execute(
        select(
            col(Ticket.id),
            col(Ticket.reference),
            col(Order.number),
            col(Ticket.subject),
            col(Customer.name),
            col(Customer.email),
            col(Customer.phone),
            col(Ticket.description),
        )
        .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
        .outerjoin(Order, col(Order.id) == col(Ticket.order_id))
        .where(col(Ticket.id).in_(ids))
    ).all()
    messages: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
    for tid, kind, body in session.execute(
        select(col(Message.ticket_id), col(Message.kind), col(Message.body))
        .where(col(Message.ticket_id).in_(ids))
        .order_by(col(Message.id).desc())
    ):
        messages[tid].append(("note" if kind == MessageKind.NOTE.value else "message", body or ""))
    for tid, ref, order_no, subject, name, email, phone, description in rows:
        fields[tid] = [
            ("reference", ref),
            ("order", order_no or ""),
            ("subject", subject or ""),
            ("customer", " ".join(x for x in (name, email, phone) if x)),
            *[m for m in messages[tid] if m[0] == "message"],
            ("message", description or ""),
            *[m for m in messages[tid] if m[0] == "note"],
        ]
    out = {}
    for tid, f in fields.items():
        found = locate(f, q)
        if found is not None:
            out[tid] = found
    return out


def purge_removed(session: Session) -> None:
    """Leave no trace of removed text in the index (retention): SQLite's FTS5
    keeps a deleted row's words in its segments until they are merged, so
    merge them all; PostgreSQL's tsvector column is rewritten in place."""
    if _is_sqlite(session):
        session.execute(text("INSERT INTO search_fts(search_fts) VALUES('optimize')"))


def index_engine(session: Session) -> str:
    """Which index this desk searches (for reports)."""
    if _is_sqlite(session):
        return "SQLite FTS5 (unicode61, remove_diacritics 2)"
    has = session.execute(
        select(literal_column("1")).select_from(table("pg_extension")).where(literal_column("extname") == "unaccent")
    ).first()
    return "PostgreSQL tsvector + GIN, simple configuration, " + (
        "unaccent" if has else "Latin transliteration (no unaccent)"
    )


__all__ = [
    "Hit",
    "Query",
    "Term",
    "condition",
    "describe",
    "fold",
    "index_engine",
    "locate",
    "matching_ids",
    "parse",
    "pg_term",
    "purge_removed",
    "ranked_ids",
    "row_condition",
    "search",
    "snippet_at",
]
