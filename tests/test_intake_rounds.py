"""Migration 0026 (SQLite): a new ticket's search and filter documents are
inserted without deleting first, and stay exactly what a full rebuild makes."""

from __future__ import annotations

import importlib

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from app.demo_bulk import sqlite_fill_statement
from app.mail.ingest import ingest_paths
from app.search import search
from mail_helpers import CONFIG, NOW, eml, make_maildir

M0026 = importlib.import_module("app.migrations.versions.0026_intake_rounds")
DOCS = {"search_fts": "rowid, refs, subject, customer, messages, notes", "search_filter": "rowid, doc"}


def _trigger(conn, name: str) -> str:
    return str(conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}).scalar())


def _docs(conn) -> dict[str, list]:
    return {t: [tuple(r) for r in conn.execute(text(f"SELECT {c} FROM {t} ORDER BY rowid"))] for t, c in DOCS.items()}


@pytest.fixture
def sqlite_desk(desk):
    if desk.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's triggers (PostgreSQL builds its documents at commit)")
    return desk


def test_new_tickets_documents_equal_a_full_rebuild(sqlite_desk, tmp_path):
    md = make_maildir(
        tmp_path / "Maildir",
        {
            "1.eml": eml(
                "Complaint Regarding eSIM Service", "No data while roaming in Spain.", sender="ann@example.com"
            ),
            "2.eml": eml("Refund Request", "Please refund my Balkans pack.", sender="bob@example.com"),
            "3.eml": eml("Where is my QR code?", "I paid but got no QR code.", sender="carl@example.com"),
        },
    )
    ingest_paths(sqlite_desk, [md], now=NOW, config=CONFIG)
    with sqlite_desk.engine.begin() as conn:
        for name in M0026.TRIGGERS:
            assert "DELETE" not in _trigger(conn, name)
        written = _docs(conn)
        for table, name in (("search_fts", "search_ticket_ins"), ("search_filter", "filter_ticket_ins")):
            conn.execute(text(f"DELETE FROM {table}"))
            conn.exec_driver_sql(sqlite_fill_statement(_trigger(conn, name)))
        assert _docs(conn) == written and len(written["search_fts"]) == 3
    with sqlite_desk.reader() as s:
        assert len(search(s, "balkans")) == 1 and len(search(s, "roaming")) == 1


def test_downgrade_puts_the_delete_back_and_upgrade_takes_it_out_again(sqlite_desk):
    with sqlite_desk.engine.begin() as conn:
        at_head = {name: _trigger(conn, name) for name in M0026.TRIGGERS}
        with Operations.context(MigrationContext.configure(conn)):
            M0026.downgrade()
            back = {name: _trigger(conn, name) for name in M0026.TRIGGERS}
            M0026.upgrade()
        again = {name: _trigger(conn, name) for name in M0026.TRIGGERS}
    for name, table in M0026.TRIGGERS.items():
        assert back[name] == at_head[name].replace(" BEGIN ", f" BEGIN {M0026._delete(table)}", 1)
        assert again[name] == at_head[name]
