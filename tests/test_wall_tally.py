"""The wall's kept counts (app/wall_tally.py, migration 0014's triggers) and
index ranges (app/wall_ranges.py) give the figures of a full scan.

Every test on a `desk` or `demo_desk` also ends with tally == recount
(tests/conftest.py); these add writes no service makes (raw SQL updates and
deletes), concurrent writers on PostgreSQL, and the snapshot's live figures
against the full-scan form they replace (app.clocks' state over every open
ticket) at many instants and at-risk shares.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app import clocks, wall_tally
from app.dashboard_data import snapshot
from app.db import open_desk
from app.demo import build_demo
from conftest import FROZEN_NOW
from models import Staff, Ticket
from pg_fixtures import pg_url  # noqa: F401  (fixture)
from wall_fixtures import CAL, built  # noqa: F401  (fixture)


def _same(desk) -> dict:
    with desk.reader() as s:
        got, want = wall_tally.stored(s), wall_tally.recounted(s)
    assert got == want
    return got


def _full_scan(s, now, share: float) -> tuple[dict, int, int]:
    """({login: (open, at risk, breached)}, at risk, breached): the state of every open ticket's clock."""
    state = clocks.state_code_sql(s.get_bind().dialect.name, clocks.now_param("now"), share)
    rows = s.execute(
        select(Staff.login, state, func.count())
        .select_from(Ticket)
        .outerjoin(Staff, Staff.id == Ticket.assignee_id)
        .where(Ticket.status != "closed")
        .group_by(Staff.login, state),
        {"now": now},
    ).all()
    per: dict = {}
    for login, st, n in rows:
        counts = per.setdefault(login, [0, 0, 0])
        counts[0] += n
        if st:
            counts[int(st)] += n
    return {k: tuple(v) for k, v in per.items()}, sum(v[1] for v in per.values()), sum(v[2] for v in per.values())


def test_demo_build_fills_the_tally(built):
    counts = _same(built)
    assert sum(c[0] for c in counts.values()) > 100 and 0 in counts  # unassigned ones too


def test_raw_updates_and_deletes_keep_the_tally(built):
    with built.session() as s:
        ids = s.scalars(select(Ticket.id).where(Ticket.status != "closed").order_by(Ticket.id).limit(40)).all()
        staff = s.scalars(select(Staff.id).order_by(Staff.id)).all()
        s.execute(Ticket.__table__.update().where(Ticket.id.in_(ids[:10])).values(assignee_id=staff[0]))
        s.execute(Ticket.__table__.update().where(Ticket.id.in_(ids[10:15])).values(assignee_id=None))
        s.execute(Ticket.__table__.update().where(Ticket.id.in_(ids[15:20])).values(status="closed"))
        s.execute(Ticket.__table__.update().where(Ticket.id.in_(ids[20:25])).values(extensions=2, kind="complaint"))
        s.execute(Ticket.__table__.update().where(Ticket.id.in_(ids[25:30])).values(reviewer_id=staff[1]))
        s.execute(Ticket.__table__.update().where(Ticket.id.in_(ids[30:35])).values(decided_at=FROZEN_NOW))
        s.execute(Ticket.__table__.update().where(Ticket.id.in_(ids[35:40])).values(status="processing"))
        s.execute(Ticket.__table__.update().values(version=Ticket.version + 1))  # touches no count
        s.commit()
    _same(built)
    with built.session() as s:  # reopen the closed ones, then take a ticket out altogether
        s.execute(Ticket.__table__.update().where(Ticket.id.in_(ids[15:20])).values(status="in_progress"))
        row = dict(s.execute(select(Ticket.__table__).where(Ticket.id == ids[0])).mappings().one())
        row.update(reference="XX-2026-999999", escalation_of_id=None)
        new_id = row["id"] = s.scalar(select(func.max(Ticket.id))) + 1  # the demo stores its own ids
        s.execute(Ticket.__table__.insert().values(row))
        s.commit()
        assert _same(built)[staff[0]][0] >= 11
        s.execute(Ticket.__table__.delete().where(Ticket.id == new_id))
        s.commit()
    _same(built)


def test_a_rolled_back_change_leaves_the_tally(built):
    before = _same(built)
    with built.session() as s:
        s.execute(Ticket.__table__.update().values(status="closed"))
        s.rollback()
    assert _same(built) == before


@pytest.mark.parametrize("share", [0.25, 0.4])
def test_live_figures_equal_the_full_scan(built, share):
    with built.reader() as s:
        dues = s.scalars(select(Ticket.due_at).where(Ticket.due_at.is_not(None)).order_by(Ticket.id).limit(5)).all()
        pauses = s.scalars(select(Ticket.paused_since).where(Ticket.paused_since.is_not(None)).limit(3)).all()
    instants = [FROZEN_NOW + timedelta(hours=h) for h in (-72, -5, 0, 7, 30, 100, 400)]
    instants += [clocks._utc(d) for d in dues + pauses]  # on a deadline, at a pause: the boundaries
    for now in instants:
        with built.reader() as s:
            data = snapshot(s, now, CAL, share)
            per, at_risk, breached = _full_scan(s, now, share)
        assert (data.at_risk, data.breached_now) == (at_risk, breached), now
        assert {a.login: (a.open, a.at_risk, a.breached) for a in data.agents} == per, now
        assert data.open_total == sum(v[0] for v in per.values())


def _two_writers(url: str, first: str, second: str, wait: bool = True) -> None:
    """`first` runs and holds its transaction while `second` runs on another
    connection; then the first commits and the second finishes."""
    desk = open_desk(url)
    try:
        done = threading.Event()
        errors: list[BaseException] = []
        with desk.engine.connect() as a:
            a.execute(text(first))

            def other() -> None:
                try:
                    with desk.engine.begin() as b:
                        b.execute(text(second))
                except BaseException as exc:  # noqa: BLE001 - reported by the test
                    errors.append(exc)
                finally:
                    done.set()

            worker = threading.Thread(target=other)
            worker.start()
            time.sleep(0.3)
            assert done.is_set() != wait  # waits for the first one's row of the tally
            a.commit()
        worker.join(10)
        assert not errors, errors
    finally:
        desk.dispose()


def test_concurrent_writers_lose_no_count(pg_url):
    desk = open_desk(pg_url)
    try:
        with desk.session() as s:
            build_demo(s, 200, 7, FROZEN_NOW, CAL, login="olivia")
        with desk.reader() as s:
            x, y = s.scalars(select(Staff.id).order_by(Staff.id).limit(2)).all()
            t1, t2, t3 = s.scalars(select(Ticket.id).where(Ticket.status != "closed").order_by(Ticket.id).limit(3))
        before = _same(desk)
    finally:
        desk.dispose()
    _two_writers(pg_url, f"UPDATE ticket SET assignee_id = {y} WHERE id IN ({t1}, {t2}, {t3})", "SELECT 1", False)
    # two tickets to the same assignee, at the same time
    _two_writers(
        pg_url,
        f"UPDATE ticket SET assignee_id = {x} WHERE id = {t1}",
        f"UPDATE ticket SET assignee_id = {x} WHERE id = {t2}",
    )
    # crossing reassignments (x -> y, y -> x): the rows are locked in key order, no deadlock
    _two_writers(
        pg_url,
        f"UPDATE ticket SET assignee_id = {y} WHERE id = {t1}",
        f"UPDATE ticket SET assignee_id = {x} WHERE id = {t3}",
    )
    desk = open_desk(pg_url)
    try:
        after = _same(desk)
    finally:
        desk.dispose()
    assert sum(c[0] for c in after.values()) == sum(c[0] for c in before.values())
