"""The words of a ticket's search document, as one string a filter tests row by row. No Textual here.

The queue's filter walks the view in due order and tests each row until a
page is full (app/queue_filter.py). Its full-text half (app/search.py) was
the index's list of every matching ticket, made whole before the first row
was tested ('cm' at 1,000,000 tickets: the 550,000 tickets whose mail names
a complaint, 80-150 ms), or on PostgreSQL one read of the ticket's own
document per row. `filter_walk.words` (migration 0029) holds the distinct
words of the document, folded as the index folds them, between spaces
(" esim tokyo "); a query whose every term is one word of ASCII letters and
digits then matches a row exactly when each term is one of its words (the
last one: the start of one): a LIKE on the row itself.

- SQLite: `words(...)` (registered as the SQL function search_words for the
  triggers) splits and folds text as FTS5's unicode61 tokenizer with
  remove_diacritics 2 does. Its table of token characters and their folds is
  FTS5's own: read once per process from a scratch FTS5 table holding each
  character of the Basic Multilingual Plane between two letters (past it:
  letters, digits and private use are token characters, kept as they are).
- PostgreSQL: the lexemes of the tsvector itself (`tsvector_to_array`), in the
  trigger; the query's words are the lexemes of its own tsquery.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.search import Query

_WORD = re.compile(r"[^\W_]+")  # as app.search splits a term
_TABLE: dict[int, str] = {}
_TABLE_LOCK = threading.Lock()
_TOKEN_CATEGORIES = ("L", "N", "Co")


def _build_table() -> dict[int, str]:
    """codepoint -> what unicode61 (remove_diacritics 2) makes of it inside a
    word: its fold, "" (dropped), or " " (a separator). Codepoints missing
    (past the BMP) follow `_outside`."""
    table: dict[int, str] = {c: " " for c in range(0x80)}
    for c in range(0x80):
        ch = chr(c)
        if ch.isascii() and ch.isalnum():
            table[c] = ch.lower()
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        points = [c for c in range(0x80, 0x10000) if not 0xD800 <= c <= 0xDFFF]
        db.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", ((c, "q" + chr(c) + "q") for c in points))
        found: dict[int, list[str]] = {}
        for term, doc in db.execute("SELECT term, doc FROM v"):
            found.setdefault(int(doc), []).append(term)
        for c in points:
            terms = found.get(c, [])
            table[c] = terms[0][1:-1] if len(terms) == 1 else " "
    finally:
        db.close()
    return table


def _outside(ch: str) -> str:
    return ch if unicodedata.category(ch).startswith(_TOKEN_CATEGORIES) else " "


def _table() -> dict[int, str]:
    if not _TABLE:
        with _TABLE_LOCK:
            if not _TABLE:
                _TABLE.update(_build_table())
    return _TABLE


def words(*texts: Any) -> str:
    """The distinct words of `texts` as FTS5 (unicode61, remove_diacritics 2)
    indexes them, sorted, each between spaces ("" when none)."""
    text = " ".join(t for t in texts if isinstance(t, str) and t)
    if text.isascii():
        found = set(re.findall(r"[a-z0-9]+", text.lower()))
    else:
        table = _table()
        folded = "".join(table[o] if (o := ord(ch)) in table else _outside(ch) for ch in text)
        found = set(folded.split())
    return " " + " ".join(sorted(found)) + " " if found else ""


def register(dbapi_conn: Any) -> None:
    """SQLite: the SQL function search_words(text, ...) the filter's triggers call (migration 0029)."""
    dbapi_conn.create_function("search_words", -1, words, deterministic=True)


def plain_terms(q: Query | None) -> list[tuple[str, bool]] | None:
    """(word, is a prefix) for each term of `q` when every term is ASCII
    holding one word (letters and digits; lowercased, as the index folds
    it: FTS5 splits the term as it split the text), else None."""
    if q is None or q.exclude or not q.include:
        return None
    out = []
    for t in q.include:
        found = _WORD.findall(t.text)
        if not t.text.isascii() or len(found) != 1:
            return None
        out.append((found[0].lower(), t.prefix))
    return out


_TSQUERY_WORD = re.compile(r"'([^\s'%_\\]+)'(:\*)?\Z")


def tsquery_word(tsquery: str) -> tuple[str, bool] | None:
    """PostgreSQL: (lexeme, is a prefix) of a tsquery of one lexeme ("'tok':*"), else None."""
    m = _TSQUERY_WORD.match(tsquery)
    return None if m is None else (m.group(1), m.group(2) is not None)


def like_patterns(terms: list[tuple[str, bool]]) -> list[str]:
    """LIKE patterns over a words string, one per term (all must match)."""
    return ["% " + word + ("%" if prefix else " %") for word, prefix in terms]


__all__ = ["like_patterns", "plain_terms", "register", "tsquery_word", "words"]
