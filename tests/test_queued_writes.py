"""app.queued_writes: in an unguarded group on PostgreSQL, a write whose result
nobody reads is sent with the next statement; its error then loses the group
(which runs again guarded, where the write fails at once)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from app import history, queued_writes
from app.db import open_desk
from app.grouped_writes import GroupLost
from app.mail.ingest import ingest_paths
from app.prepared import Prepared
from mail_helpers import eml, make_maildir
from pg_fixtures import pg_url  # noqa: F401  (fixture)
from workflow_helpers import CONFIG, at

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
_ONE = Prepared(select(text("1")))


def test_an_intake_group_sends_its_unread_writes_with_the_next_statement(pg_url, tmp_path, monkeypatch):
    sent: list[int] = []
    real = queued_writes.send

    def counting(conn, last=None) -> None:
        queue = conn.info.get(queued_writes.QUEUE)
        if queue is not None and queue.statements:
            sent.append(len(queue.statements) + (last is not None))
        real(conn, last)

    monkeypatch.setattr(queued_writes, "send", counting)
    files = {
        f"{i}": eml(f"Refund Request {i}", "Please refund, the QR never worked.", msgid=f"<r{i}@x>") for i in range(4)
    }
    desk = open_desk(pg_url)
    try:
        summary = ingest_paths(desk, [make_maildir(tmp_path / "m", files)], now=at(60), config=CONFIG)
        assert summary.count("created") == 4
        assert sent and max(sent) >= 2  # queued writes went with a statement of their own message or group
        with desk.reader() as s:
            assert s.execute(text("SELECT count(*) FROM message")).scalar() >= 4
            assert s.execute(text("SELECT count(*) FROM refund_case")).scalar() == 4
    finally:
        desk.dispose()


@pytest.mark.parametrize("guarded", [False, True])
def test_a_queued_write_that_fails_loses_its_group_at_the_next_statement(pg_url, guarded):
    desk = open_desk(pg_url)
    try:
        with desk.grouped(10, 60) as writes, queued_writes.while_unguarded(writes):
            writes.guarded = guarded
            with pytest.raises(Exception) as failed, writes() as session:
                history.record(session, 10**9, None, "note", NOW)  # no such ticket: the foreign key refuses it
                reached_next = True
                _ONE.scalar(session)
            if guarded:  # at once, at its own statement
                assert failed.type is not GroupLost and "foreign key" in str(failed.value)
            else:  # sent with the next statement, which raises; the group is lost whole
                assert reached_next and failed.type is GroupLost and "foreign key" in str(failed.value)
            assert not (writes.session.get_bind().info[queued_writes.QUEUE].statements)
    finally:
        desk.dispose()
