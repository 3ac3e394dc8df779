"""PostgreSQL's word pairs of a search document (migrations 0013, 0027):
`search_pairs(doc)` holds every pair of lexemes at neighbouring positions,
whatever the document (repeated words, positions past tsvector's limit, where
they repeat), the same as 0013's body made."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy import text

from app.db import open_desk
from pg_fixtures import engine_url  # noqa: F401  (fixture)

_0027 = importlib.import_module("app.migrations.versions.0027_build_pairs")

TEXTS = [
    "",
    "one",
    "Error code E-42, error code E-43",
    "a a a a b a",
    " ".join(["b"] * 300) + " c b d",  # a lexeme past 256 positions keeps the first 256
    " ".join(f"w{i}" for i in range(17_000)) + " z y",  # positions past 16,383 all become 16,383
    "Zürich Łódź São Paulo naïve café",
]


def _by_definition(rows: list[tuple[str, list[int]]]) -> set[str]:
    at: dict[int, set[str]] = {}
    for lexeme, positions in rows:
        for p in positions:
            at.setdefault(p, set()).add(lexeme)
    return {f"{a}_{b}" for p, firsts in at.items() for a in firsts for b in at.get(p + 1, ())}


def test_the_pairs_are_the_neighbouring_lexemes(engine_url):
    if not engine_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's index only (SQLite's FTS5 index keeps word positions)")
    desk = open_desk(engine_url)
    try:
        with desk.session() as s:
            s.execute(text(_0027._PAIRS_0013.replace("FUNCTION search_pairs(", "FUNCTION pairs_0013(")))
            for t in TEXTS:
                # two parts, as a document is made: the second's positions follow the first's
                doc = (
                    "to_tsvector('simple', search_norm(:t)) || "
                    "setweight(to_tsvector('simple', search_norm('more words, more')), 'C')"
                )
                rows = s.execute(text(f"SELECT lexeme, positions FROM unnest({doc})"), {"t": t}).all()
                got, old = s.execute(
                    text(f"SELECT tsvector_to_array(search_pairs({doc})), pairs_0013({doc})::text"), {"t": t}
                ).one()
                new = s.execute(text(f"SELECT search_pairs({doc})::text"), {"t": t}).scalar()
                assert set(got) == _by_definition([(lx, list(ps)) for lx, ps in rows]), t[:40]
                assert new == old
            s.rollback()
    finally:
        desk.dispose()
