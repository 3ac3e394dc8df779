"""A refund request acknowledged at intake ([refunds] auto_acknowledge) is
inserted as the acknowledgment leaves it (app.mail.tickets `new_refund`,
`auto_acknowledge`): one row version instead of an insert and an update
(issue 21), with the same mail, history, deadline and wall figures."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

import app.mail.tickets as wf
from app.db import open_desk
from app.mail.ingest import ingest_paths
from mail_helpers import CONFIG, NOW, add_order, eml, make_maildir
from pg_fixtures import engine_url  # noqa: F401  (fixture)

_PROBE_SQLITE = (
    "CREATE TABLE probe_updates (ticket_id INTEGER)",
    "CREATE TRIGGER probe_upd AFTER UPDATE ON ticket BEGIN INSERT INTO probe_updates VALUES (NEW.id); END",
)
_PROBE_PG = (
    "CREATE TABLE probe_updates (ticket_id integer)",
    "CREATE FUNCTION probe_upd() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN INSERT INTO probe_updates VALUES (NEW.id); RETURN NULL; END $$",
    "CREATE TRIGGER probe_upd AFTER UPDATE ON ticket FOR EACH ROW EXECUTE FUNCTION probe_upd()",
)


def _mail(tmp_path: Path) -> Path:
    return make_maildir(
        tmp_path / "Maildir",
        {
            "1": eml("Refund Request ORD-1234567890-ABCD", "The eSIM never arrived.", msgid="<r1@x>"),
            "2": eml("Refund Request", "I want my money back", sender="payer@example.com", msgid="<r2@x>"),
            "3": eml("Refund Request ORD-9999999999-ABCD", "Unknown order", sender="other@example.com", msgid="<r3@x>"),
            "4": eml("Complaint Regarding eSIM Service", msgid="<c1@x>", sender="c@example.com"),
        },
    )


def _rows(desk, sql: str) -> list[tuple]:
    with desk.reader() as s:
        return [tuple(r) for r in s.execute(text(sql)).all()]


def test_an_auto_acknowledged_refund_is_inserted_acknowledged_and_never_updated(engine_url, tmp_path):
    desk = open_desk(engine_url)
    try:
        with desk.engine.begin() as conn:
            for sql in _PROBE_PG if desk.engine.dialect.name == "postgresql" else _PROBE_SQLITE:
                conn.exec_driver_sql(sql)
        add_order(desk)
        summary = ingest_paths(desk, [_mail(tmp_path)], now=NOW, config=CONFIG).as_dict()
        assert summary["created"] == 4
        refunds = _rows(
            desk,
            "SELECT id, acknowledged_at IS NOT NULL, version, due_clock, info_needed FROM ticket "
            "WHERE kind = 'refund' ORDER BY id",
        )
        assert [r[1:] for r in refunds] == [
            (True, 2, "refund_review", None),
            (True, 2, "refund_review", "order_number"),
            (True, 2, "refund_review", None),
        ]
        assert _rows(desk, "SELECT ticket_id FROM probe_updates") == []  # one row version each
        for tid, *_ in refunds:  # the history as before: created, (the question), acknowledged
            actions = [
                a for (a,) in _rows(desk, f"SELECT action FROM ticket_event WHERE ticket_id = {tid} ORDER BY id")
            ]
            assert actions[0] == "created" and actions[-1] == "acknowledged"
    finally:
        desk.dispose()


_TABLES = {
    "ticket": "SELECT * FROM ticket ORDER BY id",
    "ticket_event": "SELECT * FROM ticket_event ORDER BY id",
    "message": "SELECT * FROM message ORDER BY id",
    "refund_case": "SELECT * FROM refund_case ORDER BY ticket_id",
    "wall_daily": "SELECT hour, figure, n FROM wall_daily WHERE n <> 0 ORDER BY hour, figure",
    "wall_tally": "SELECT * FROM wall_tally ORDER BY assignee",
    "filter_walk": "SELECT * FROM filter_walk ORDER BY ticket_id",
    "search_fts_content": "SELECT * FROM search_fts_content ORDER BY id",
}


def _desk_after_intake(root: Path) -> dict[str, list[tuple]]:
    root.mkdir()
    desk = open_desk(f"sqlite:///{root / 'desk.sqlite'}")
    try:
        add_order(desk)
        ingest_paths(desk, [_mail(root)], now=NOW, config=CONFIG)
        return {name: _rows(desk, sql) for name, sql in _TABLES.items()}
    finally:
        desk.dispose()


def test_the_desk_is_the_same_as_with_an_insert_then_an_update(tmp_path, monkeypatch):
    once = _desk_after_intake(tmp_path / "once")
    inserted = wf.new_refund
    monkeypatch.setattr(wf, "new_refund", lambda *a, **k: inserted(*a, **{**k, "acknowledged": False}))
    twice = _desk_after_intake(tmp_path / "twice")  # inserted unacknowledged, then acknowledged by an update
    assert once == twice
    assert len(once["ticket"]) == 4 and len(once["wall_daily"]) > 0
