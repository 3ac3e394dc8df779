"""A deadline view's page reads about a page of rows (app/queue_views.py
`parts`): At risk, Due today and Breached walk the due index from their
bound, so tickets due later that are not in the view are never read. Read
one part per open status, At risk read every ticket of a status with none at
risk due after now (1,000,000 tickets: 7,000 refunds in processing, 13 ms on
SQLite and 6,976 pages cold on PostgreSQL, for no row). On the suite's engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from app import queue_query as qq
from conftest import FROZEN_NOW
from models import Ticket

NOW = FROZEN_NOW
H = timedelta(hours=1)
FAR = 400  # refunds in processing due in 20 days: none at risk, none due today, none breached


def _ticket(i: int, **kw) -> Ticket:
    received = kw.pop("received_at", NOW - 20 * H)
    return Ticket(received_at=received, created_at=received, updated_at=received, **kw)


def _add_view_tickets(desk) -> None:
    """Six complaints at risk now (acknowledgment clock of 22 h, due in 1-4 h), three breached."""
    with desk.session() as s:
        for i in range(6):
            due = NOW + (1 + i * 0.5) * H
            s.add(
                _ticket(
                    i,
                    reference=f"CMP-2026-{i + 1:06d}",
                    kind="complaint",
                    status="submitted",
                    due_clock="acknowledgment",
                    ack_due_at=due,
                    due_at=due,
                )
            )
        for i in range(3):
            due = NOW - (i + 1) * H
            s.add(
                _ticket(
                    i,
                    reference=f"CMP-2026-{i + 101:06d}",
                    kind="complaint",
                    status="submitted",
                    received_at=NOW - 30 * H,
                    due_clock="acknowledgment",
                    ack_due_at=due,
                    due_at=due,
                )
            )


def _analyzed(desk) -> None:
    """PostgreSQL plans by the table's statistics (a desk's intake keeps them, app/workflow/intake.py)."""
    if desk.engine.dialect.name == "postgresql":
        with desk.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE ticket")
            conn.commit()


def _add_far_refunds(desk) -> None:
    with desk.session() as s:
        for i in range(FAR):
            decided = NOW - 24 * H
            s.add(
                _ticket(
                    i,
                    reference=f"RFD-2026-{i + 1:06d}",
                    kind="refund",
                    status="processing",
                    received_at=decided - 48 * H,
                    decided_at=decided,
                    due_clock="refund_initiation",
                    due_at=NOW + 20 * 24 * H + i * timedelta(minutes=1),
                )
            )


def _rows_read(desk, view: str) -> tuple[list[str], int]:
    """(The page's references, how much the engine read for its ids): SQLite,
    the steps of its virtual machine; PostgreSQL, the rows its scans of the
    ticket table met (kept and filtered out), as EXPLAIN ANALYZE counts them."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    event.listen(desk.engine, "before_cursor_execute", record)
    try:
        with desk.reader() as s:
            refs = [r.reference for r in qq.page(s, qq.QueueQuery(view=view), NOW, 0, 5)]
    finally:
        event.remove(desk.engine, "before_cursor_execute", record)
    statement, params = next((st, p) for st, p in seen if "ORDER BY" in st)
    with desk.reader() as s:
        conn = s.connection()
        if conn.dialect.name == "sqlite":
            steps = [0]

            def step() -> int:
                steps[0] += 1
                return 0

            raw = conn.connection.driver_connection
            raw.set_progress_handler(step, 1)
            try:
                conn.exec_driver_sql(statement, params).fetchall()
            finally:
                raw.set_progress_handler(None, 1)
            return refs, steps[0]
        conn.exec_driver_sql(
            "SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)"
        )
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).scalar()[0]["Plan"]

    def met(node: dict) -> int:
        own = node["Actual Rows"] + node.get("Rows Removed by Filter", 0) if "Scan" in node["Node Type"] else 0
        return own + sum(met(child) for child in node.get("Plans", []))

    return refs, met(plan)


def test_a_deadline_page_does_not_read_the_tickets_due_after_it(desk):
    _add_view_tickets(desk)
    _analyzed(desk)
    before = {view: _rows_read(desk, view) for view in ("at_risk", "due_today", "breached")}
    assert before["at_risk"][0] == [f"CMP-2026-{i:06d}" for i in range(1, 6)]
    assert before["breached"][0] == ["CMP-2026-000103", "CMP-2026-000102", "CMP-2026-000101"]
    _add_far_refunds(desk)
    _analyzed(desk)
    for view, (refs, read) in before.items():
        after_refs, after_read = _rows_read(desk, view)
        assert after_refs == refs, view  # (none of the refunds is in these views)
        # one part per status read all 400 refunds in processing: at least one step, or row, each
        assert after_read - read < FAR // 4, (view, read, after_read)


def test_a_views_kept_statements_follow_now_across_its_thresholds(desk):
    """A view's page statements are built once (`_walk`) with the instant as a
    bind parameter: run again as now moves, the same statements give the rows
    of that instant, on both sides of at risk, due and the desk's midnight."""
    due = NOW + 2 * H  # acknowledgment clock of 22 h: at risk from due - 5.5 h (NOW - 3.5 h)
    with desk.session() as s:
        s.add(
            _ticket(
                0,
                reference="CMP-2026-000001",
                kind="complaint",
                status="submitted",
                due_clock="acknowledgment",
                ack_due_at=due,
                due_at=due,
            )
        )
    local_midnight = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # Europe/Tallinn, UTC+2
    expected = {  # instant -> the views the ticket is in
        NOW - 4 * H: {"due_today"},  # on track
        NOW - 3 * H: {"at_risk", "due_today"},
        due - timedelta(seconds=1): {"at_risk", "due_today"},
        due + timedelta(seconds=1): {"breached", "due_today"},
        local_midnight - timedelta(seconds=1): {"breached", "due_today"},
        local_midnight: {"breached"},  # the next day in Tallinn
        NOW - 13 * H: set(),  # 23:00 the day before in Tallinn, and on track
    }
    kept: dict[str, object] = {}
    with desk.reader() as s:
        for at, views in expected.items():
            for view in ("at_risk", "breached", "due_today"):
                q = qq.QueueQuery(view=view)
                rows = [r.reference for r in qq.page(s, q, at, 0, 10)]
                assert rows == (["CMP-2026-000001"] if view in views else []), (view, at)
                assert qq.count(s, q, at) == len(rows), (view, at)
                assert kept.setdefault(view, qq._walk(s, q)) is qq._walk(s, q), view  # built once
