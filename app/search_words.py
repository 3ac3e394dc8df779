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
  remove_diacritics 2 does. Past ASCII, what FTS5 makes of a character (a
  fold, nothing, a separator) is asked of FTS5 itself the first time the
  process meets it (a scratch table holding it between two letters; its
  classes follow no Unicode category past the BMP: most emoji are word
  characters), and kept.
- PostgreSQL: the lexemes of the tsvector itself (`tsvector_to_array`), in the
  trigger; the query's words are the lexemes of its own tsquery.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.search import Query

_WORD = re.compile(r"[^\W_]+")  # as app.search splits a term
_ASCII_WORDS = re.compile(r"[a-z0-9]+")
_TABLE: dict[int, str] = {}
_TABLE_LOCK = threading.Lock()
_SCRATCH: list[sqlite3.Connection] = []  # the scratch FTS5 table that classes them
# ASCII: letters and digits lowercased, the rest separators
_TABLE.update({c: chr(c).lower() if chr(c).isalnum() else " " for c in range(0x80)})


def _asked(db: sqlite3.Connection, points: list[int]) -> dict[int, str]:
    """codepoint -> what unicode61 (remove_diacritics 2) makes of it inside a
    word: its fold, "" (dropped), or " " (a separator), asked of FTS5 itself
    (each between two letters in a scratch table, emptied after)."""
    db.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", ((c, "q" + chr(c) + "q") for c in points))
    found: dict[int, list[str]] = {}
    for term, doc in db.execute("SELECT term, doc FROM v"):
        found.setdefault(int(doc), []).append(term)
    db.execute("DELETE FROM t")
    return {c: found[c][0][1:-1] if len(found.get(c, [])) == 1 else " " for c in points}


def _table(text: str) -> dict[int, str]:
    """The fold of every character of `text` (and of those met before)."""
    rest = {o for ch in text if (o := ord(ch)) not in _TABLE}
    if rest:
        with _TABLE_LOCK:
            if not _SCRATCH:
                db = sqlite3.connect(":memory:", check_same_thread=False)
                db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2')")
                db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
                _SCRATCH.append(db)
            _TABLE.update(_asked(_SCRATCH[0], sorted(o for o in rest if o not in _TABLE)))
    return _TABLE


def words(*texts: Any) -> str:
    """The distinct words of `texts` as FTS5 (unicode61, remove_diacritics 2)
    indexes them, sorted, each between spaces ("" when none)."""
    text = " ".join(t for t in texts if isinstance(t, str) and t)
    if text.isascii():
        found = set(_ASCII_WORDS.findall(text.lower()))
    else:
        table = _table(text)
        folded = "".join(table[ord(ch)] for ch in text)
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
