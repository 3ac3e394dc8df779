"""The queue's fast orderings (app/queue_query.py) give exactly the rows, in
exactly the order, of a straightforward reference: every view, every sort,
several instants, with and without filter text, whole views and pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app import queue_query as qq
from app import queue_ranges
from conftest import DEMO_SEED, FROZEN_NOW
from models import Staff, Ticket

# instants around the demo's: deadlines fall on either side of each
INSTANTS = [FROZEN_NOW + timedelta(hours=h) for h in (-30, 0, 5, 52)]
NO_DUE = (1, None)


def _sort_key(sort: str, t: Ticket):
    due = NO_DUE if t.due_at is None else (0, t.due_at)
    if sort == "age":
        return (t.received_at, t.id)
    if sort == "priority":
        return (t.priority, due, t.id)
    return (due, t.id)


def reference_ids(session, q: qq.QueueQuery, now) -> list[int]:
    """Members by the view's plain WHERE (status != 'closed'), ordered in Python."""
    members = set(session.scalars(qq._from(select(Ticket.id), q).where(*qq.conditions(session, q, now))))
    tickets = session.exec(select(Ticket).where(Ticket.id.in_(members))).all() if members else []
    return [t.id for t in sorted(tickets, key=lambda t: _sort_key(q.sort, t))]


def page_ids(session, q, now, offset=0, limit=1_000_000) -> list[int]:
    return [r.id for r in qq.page(session, q, now, offset, limit)]


def _actor(session) -> int:
    # the busiest assignee, so "my" is not empty
    rows = session.exec(select(Ticket.assignee_id).where(Ticket.assignee_id.is_not(None))).all()
    return max(set(rows), key=rows.count)


def _check_all(desk, texts=("",)) -> int:
    checked = 0
    with desk.reader() as s:
        actor = _actor(s)
        for now in INSTANTS:
            for text in texts:
                for view, _ in qq.VIEWS:
                    for sort in qq.SORTS:
                        q = qq.QueueQuery(view=view, sort=sort, text=text, actor_id=actor)
                        want = reference_ids(s, q, now)
                        assert page_ids(s, q, now) == want, (view, sort, text, now)
                        assert qq.count(s, q, now) == len(want), (view, sort, text, now)
                        checked += bool(want)
    return checked


def test_every_view_and_sort_matches_the_reference_on_the_demo(demo_desk):
    with demo_desk.reader() as s:
        word = s.exec(select(Ticket.subject).where(Ticket.subject != "")).first().split()[0]
    assert _check_all(demo_desk, texts=("", word)) > 100, "the comparison saw real rows"


@pytest.mark.parametrize("text", ["o'b", "a:b", "50%", "it's :x", "e", "cmp-2026-0"])
def test_unassigned_with_quotes_colons_and_wildcards_matches_the_reference(demo_desk, text):
    """The unassigned view's SQLite page is written out with its values inline
    (INDEXED BY): a quote, a colon or a % in the filter stays text."""
    with demo_desk.reader() as s:
        q = qq.QueueQuery(view="unassigned", text=text)
        assert page_ids(s, q, FROZEN_NOW) == reference_ids(s, q, FROZEN_NOW)


def test_deadline_views_have_rows_in_the_demo(demo_desk):
    # the comparison above is only worth something if these views are not empty
    with demo_desk.reader() as s:
        for view in ("due_today", "at_risk", "breached"):
            assert qq.count(s, qq.QueueQuery(view=view), FROZEN_NOW) > 3, view


@pytest.mark.parametrize("view", ["at_risk", "breached", "due_today", "all", "unassigned"])
@pytest.mark.parametrize("sort", qq.SORTS)
def test_pages_are_slices_of_the_reference(demo_desk, view, sort):
    q = qq.QueueQuery(view=view, sort=sort)
    with demo_desk.reader() as s:
        want = reference_ids(s, q, FROZEN_NOW)
        got = []
        for off in range(0, len(want) + 13, 13):
            got += page_ids(s, q, FROZEN_NOW, off, 13)
        assert got == want


@pytest.mark.parametrize(
    "view",
    ["due_today", "at_risk", "breached", "unassigned", "escalations", "refunds", "out_of_scope", "my", "my:none"],
)
def test_a_page_sorted_by_due_walks_indexes_and_never_scans_the_desk(demo_desk, view):
    """The plan that makes the switch fast: each statement of a page follows
    an index (the view's parts in due order, app.queue_views `parts`), none scans the
    ticket table nor walks the whole desk's due index (at 1,000,000 tickets
    a scan and sort took 0.1-0.8 s, "my" of someone with no tickets 1.4 s)."""
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    event.listen(demo_desk.engine, "before_cursor_execute", record)
    try:
        with demo_desk.reader() as s:
            if view == "my:none":  # nobody's tickets: the undated rows are looked for too
                q = qq.QueueQuery(view="my", actor_id=10**6)
                assert qq.page(s, q, FROZEN_NOW, 0, 30) == []
            else:
                q = qq.QueueQuery(view=view, actor_id=_actor(s))
                assert qq.page(s, q, FROZEN_NOW, 0, 30)
            pages = [(st, p) for st, p in seen if "ORDER BY" in st]
            assert pages
            for statement, parameters in pages:
                plan = " | ".join(
                    r[-1] for r in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                )
                assert "SCAN ticket" not in plan.replace("SCAN ticket USING", ""), (view, plan)
                assert "ix_ticket_" in plan, (view, plan)
                if view in ("due_today", "at_risk", "breached"):
                    # the desk's due index, but only as a range (only a running clock has a deadline)
                    assert "INDEX ix_ticket_due_at (due_at>?" in plan, (view, plan)
                else:  # nor the desk-wide due index: it holds every ticket of the desk, in or out of the view
                    assert "INDEX ix_ticket_due_at " not in plan, (view, plan)
                if view == "unassigned":  # its own partial index (migration 0019), no sort of the view
                    assert "ix_ticket_unassigned_due" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        event.remove(demo_desk.engine, "before_cursor_execute", record)


def test_a_ticket_that_closes_leaves_the_deadline_views(demo_desk):
    # `status IN (open statuses)` must still mean "not closed"
    with demo_desk.session() as s:
        q = qq.QueueQuery(view="breached")
        first = page_ids(s, q, FROZEN_NOW, 0, 1)[0]
        t = s.get(Ticket, first)
        t.status = "closed"
        s.add(t)
        s.commit()
    with demo_desk.reader() as s:
        assert first not in page_ids(s, q, FROZEN_NOW)
        assert first not in reference_ids(s, q, FROZEN_NOW)


def test_open_statuses_are_every_status_but_closed():
    from models.enums import TicketStatus

    assert set(qq.OPEN_STATUSES) == {s.value for s in TicketStatus} - {"closed"}


def test_every_view_and_sort_matches_the_reference_on_the_engine(desk):
    """On a small demo built on the suite's engine (PostgreSQL in its pg pass)."""
    from app.business_calendar import BusinessCalendar
    from app.demo import build_demo

    with desk.session() as s:
        build_demo(s, 120, DEMO_SEED, FROZEN_NOW, BusinessCalendar("EE", None, "Europe/Tallinn"), login="olivia")
    with desk.reader() as s:
        assert s.exec(select(Staff)).first() is not None
    assert _check_all(desk) > 30


def _check_clock_rules(desk) -> int:
    """at risk / breached membership equals the Python rule (app.sla_clocks)."""
    from app.clocks import ticket_sla_state

    seen = 0
    with desk.reader() as s:
        tickets = s.exec(select(Ticket)).all()
        for now in INSTANTS:
            for state in ("at_risk", "breached"):
                want = {
                    t.id for t in tickets if t.status != "closed" and t.due_at and ticket_sla_state(t, now) == state
                }
                assert set(page_ids(s, qq.QueueQuery(view=state), now)) == want, (state, now)
                seen += len(want)
    return seen


def test_deadline_views_follow_the_clock_rules_on_the_engine(desk):
    """PostgreSQL compares intervals natively, SQLite julianday seconds: same rule."""
    from app.business_calendar import BusinessCalendar
    from app.demo import build_demo

    with desk.session() as s:
        build_demo(s, 150, DEMO_SEED + 1, FROZEN_NOW, BusinessCalendar("EE", None, "Europe/Tallinn"), login="olivia")
    assert _check_clock_rules(desk) > 10


def test_long_pages_are_fetched_in_chunks(demo_desk, monkeypatch):
    # PostgreSQL refuses more than 65,535 parameters: the rows of a long page
    # are looked up in chunks, and the chunks keep the view's order
    q = qq.QueueQuery(view="all")
    with demo_desk.reader() as s:
        want = reference_ids(s, q, FROZEN_NOW)
        monkeypatch.setattr(qq, "_ID_CHUNK", 7)
        assert page_ids(s, q, FROZEN_NOW) == want
        assert page_ids(s, q, FROZEN_NOW, 5, 30) == want[5:35]


def test_tickets_paused_at_risk_are_in_at_risk_by_their_own_index(desk):
    """A ticket paused before now is judged at its pause: at risk when it
    paused past its risk point and before its due (read through
    ix_ticket_paused_risk, migration 0022), not when it paused on track or
    after its due; a ticket paused after now is judged now. Same rows, same
    order, as the Python rule, on the suite's engine."""
    from app.clocks import ticket_sla_state

    now = FROZEN_NOW
    h = timedelta(hours=1)
    # (reference, received, due, paused): acknowledgment clock of 22 h, at risk from due - 5.5 h
    cases = [
        ("CMP-2026-000001", now - 20 * h, now + 2 * h, now - 1 * h),  # paused at risk: at risk
        ("CMP-2026-000002", now - 20 * h, now + 3 * h, now - 2 * h),  # paused at risk, due later: after it
        ("CMP-2026-000003", now - 20 * h, now + 2 * h, now - 5 * h),  # paused on track: not at risk
        ("CMP-2026-000004", now - 30 * h, now - 8 * h, now - 1 * h),  # paused after its due: breached
        ("CMP-2026-000005", now - 20 * h, now + 2 * h, now + 1 * h),  # pauses after now: judged now, at risk
        ("CMP-2026-000006", now - 20 * h, now + 1 * h, None),  # running, at risk: first
    ]
    with desk.session() as s:
        for ref, received, due, paused in cases:
            s.add(
                Ticket(
                    reference=ref,
                    kind="complaint",
                    status="submitted",
                    received_at=received,
                    created_at=received,
                    updated_at=received,
                    due_clock="acknowledgment",
                    ack_due_at=due,
                    due_at=due,
                    paused_since=paused,
                )
            )
    with desk.reader() as s:
        tickets = {t.reference: t for t in s.exec(select(Ticket)).all()}
        want = [r for r, *_ in cases if ticket_sla_state(tickets[r], now) == "at_risk"]
        assert sorted(want) == ["CMP-2026-000001", "CMP-2026-000002", "CMP-2026-000005", "CMP-2026-000006"]
        got = [r.reference for r in qq.page(s, qq.QueueQuery(view="at_risk"), now, 0, 50)]
        assert got == ["CMP-2026-000006", "CMP-2026-000001", "CMP-2026-000005", "CMP-2026-000002"]
        assert qq.count(s, qq.QueueQuery(view="at_risk"), now) == 4
        # another share than the indexed one reads the paused tickets as before: same rule
        other = qq.QueueQuery(view="at_risk", at_risk_share=0.5)
        want = [r for r, *_ in cases if ticket_sla_state(tickets[r], now, 0.5) == "at_risk"]
        assert sorted(r.reference for r in qq.page(s, other, now, 0, 50)) == sorted(want)
        if s.get_bind().dialect.name == "sqlite":
            pred = queue_ranges.paused_risk_pred("sqlite")
            stmt = select(Ticket.id).where(pred).order_by(Ticket.due_at, Ticket.id)
            sql = str(stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
            plan = " | ".join(r[-1] for r in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "ix_ticket_paused_risk" in plan, plan


def test_postgresql_walks_each_part_of_a_view_in_its_index_order(desk):
    """PostgreSQL misjudges how few rows the at-risk test keeps and would read
    each status's whole range through a bitmap and sort it (At risk at
    100,000 tickets: 66 ms, walked 3 ms), or (a read-ahead's 2,468 rows at
    1,000,000 tickets) read the whole table: a page's parts are walked with
    bitmaps and sequential scans off, for that statement only."""
    if desk.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner only")
    from sqlalchemy import event, text

    from app.business_calendar import BusinessCalendar
    from app.demo import build_demo

    with desk.session() as s:
        build_demo(s, 120, DEMO_SEED, FROZEN_NOW, BusinessCalendar("EE", None, "Europe/Tallinn"), login="olivia")
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(desk.engine, "before_cursor_execute", record)
    try:
        with desk.reader() as s:
            for view in ("at_risk", "breached", "due_today"):
                seen.clear()
                qq.page(s, qq.QueueQuery(view=view), FROZEN_NOW, 0, 30)
                walk = next(i for i, st in enumerate(seen) if "ORDER BY" in st)
                for setting in ("enable_bitmapscan", "enable_seqscan"):  # (off: a view with no filter text)
                    assert f"set_config('{setting}', 'off', true)" in seen[walk - 1], seen
                    assert "set_config(name, reset_val, true)" in seen[walk + 1], seen
                    assert f"'{setting}'" in seen[walk + 1], seen
                    assert s.execute(text(f"SHOW {setting}")).scalar() == "on"
    finally:
        event.remove(desk.engine, "before_cursor_execute", record)


def test_a_cancelled_walk_on_postgresql_raises_the_cancel_itself(desk):
    """A page walk stopped on the server (a superseded read) fails with the
    cancel, which the queue treats as asked for (OperationalError): no second
    statement is sent into the aborted transaction to fail as InternalError,
    which the console would show as an error."""
    if desk.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's walk only")
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    with desk.reader() as s:
        s.execute(text("SET LOCAL statement_timeout = 1"))
        slow = select(text("1 FROM pg_sleep(0.2)"))
        with pytest.raises(OperationalError):
            qq._walked(s, slow)
