"""app.deadlines: recompute every open deadline in one batch (real SQLite desk)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

import app.deadlines as deadlines
from app.business_calendar import calendar_from_config
from app.config import CalendarConfig
from app.db import open_desk
from app.deadlines import preview_recompute, recompute_open_deadlines
from models.history import TicketEvent
from models.ticket import Ticket

TLL = ZoneInfo("Europe/Tallinn")
CAL = calendar_from_config(CalendarConfig(country="EE", timezone="Europe/Tallinn"))
NOW = datetime(2026, 12, 19, 10, tzinfo=UTC)
T = Ticket.__table__


@pytest.fixture(params=["text", "datetime"])
def desk(tmp_path, request, monkeypatch):
    if request.param == "datetime":  # the PostgreSQL code path, run on SQLite
        monkeypatch.setattr(deadlines, "_text_mode", lambda conn: False)
    d = open_desk(f"sqlite:///{tmp_path}/d.sqlite")
    yield d
    d.dispose()


def add(desk, ref: str, kind: str, received: datetime, **kw) -> int:
    row = {
        "reference": ref,
        "kind": kind,
        "status": "submitted",
        "subject": ref,
        "priority": 2,
        "extensions": 0,
        "version": 1,
        "received_at": received,
        "created_at": received,
        "updated_at": received,
    }
    row.update(kw)
    with desk.engine.begin() as conn:
        return conn.execute(insert(T).values(**row)).inserted_primary_key[0]


def get(desk, tid: int):
    with desk.engine.connect() as conn:
        return conn.execute(select(T).where(T.c.id == tid)).one()


def local_day(dt: datetime | None) -> date | None:
    return None if dt is None else dt.astimezone(TLL).date()


def test_closure_added_after_the_ticket_started_moves_its_deadline(desk):
    fri = datetime(2026, 12, 18, 15, tzinfo=TLL)
    due = CAL.due_at(fri, 2)
    tid = add(desk, "CMP-1", "complaint", fri, ack_due_at=due, due_at=due, due_clock="acknowledgment")
    with desk.reader() as s:
        assert preview_recompute(s, CAL, NOW) == 0
    closed = CAL.with_closures([date(2026, 12, 21)])
    with desk.reader() as s:
        assert preview_recompute(s, closed, NOW) == 1
    assert local_day(get(desk, tid).ack_due_at) == date(2026, 12, 22)  # preview wrote nothing
    with desk.session() as s:
        assert recompute_open_deadlines(s, closed, NOW) == 1
    row = get(desk, tid)
    assert local_day(row.ack_due_at) == local_day(row.due_at) == date(2026, 12, 23)
    assert row.due_at == closed.end_of_local_day(date(2026, 12, 23))
    assert (row.due_clock, row.version, row.updated_by, row.updated_at) == ("acknowledgment", 2, "calendar", NOW)
    with desk.session() as s:
        assert recompute_open_deadlines(s, closed, NOW) == 0  # idempotent


def test_every_kind_and_the_rules(desk):
    closed = CAL.with_closures([date(2026, 12, 21)])
    mon = datetime(2026, 12, 14, 9, tzinfo=TLL)
    wed = datetime(2026, 12, 16, 9, tzinfo=TLL)
    far = CAL.end_of_local_day(date(2027, 2, 1))
    ids = {
        # acknowledged complaint: the stopped ack clock keeps its date, resolution runs from the ack
        "res": add(
            desk,
            "CMP-2",
            "complaint",
            mon,
            status="investigation",
            acknowledged_at=wed,
            ack_due_at=CAL.due_at(mon, 2),
            resolution_due_at=CAL.due_at(wed, 10),
        ),
        # extended to a later date: kept
        "ext": add(
            desk,
            "CMP-3",
            "complaint",
            mon,
            status="investigation",
            acknowledged_at=wed,
            extensions=1,
            resolution_due_at=far,
            due_at=far,
            due_clock="resolution",
        ),
        # resolution communicated: no clock runs, due_at cleared
        "done": add(
            desk,
            "CMP-4",
            "complaint",
            mon,
            status="resolution_communicated",
            acknowledged_at=wed,
            resolution_due_at=CAL.due_at(wed, 10),
            resolution_communicated_at=wed + timedelta(days=1),
            due_at=CAL.due_at(wed, 10),
            due_clock="resolution",
        ),
        "esc": add(desk, "ESC-1", "escalation", wed),
        "rfd": add(desk, "RFD-1", "refund", wed, status="under_review"),
        "init": add(
            desk, "RFD-2", "refund", mon, status="decided", decided_at=wed, due_at=far, due_clock="refund_initiation"
        ),
        "inq": add(desk, "INQ-1", "inquiry", wed),
        "closed": add(desk, "CMP-5", "complaint", mon, status="closed", closed_at=wed),
    }
    with desk.session() as s:
        assert recompute_open_deadlines(s, closed, NOW) == 6  # all open but the extended one
    r = {k: get(desk, v) for k, v in ids.items()}
    assert local_day(r["res"].ack_due_at) == date(2026, 12, 16)  # unchanged (stopped clock)
    # 10 bd after Wed 16th: 17,18,22,23,28,29,30,31 Dec, 4,5 Jan (21st closed, 24-26 Dec and 1 Jan holidays)
    assert local_day(r["res"].resolution_due_at) == local_day(r["res"].due_at) == date(2027, 1, 5)
    assert r["res"].due_clock == "resolution"
    assert r["ext"].resolution_due_at == far and r["ext"].version == 1  # nothing to change
    assert (r["done"].due_at, r["done"].due_clock) == (None, None)
    assert local_day(r["esc"].final_response_due_at) == local_day(r["esc"].due_at) == date(2026, 12, 28)
    assert r["esc"].due_clock == "final_response"
    assert local_day(r["rfd"].review_due_at) == date(2026, 12, 22) and r["rfd"].due_clock == "refund_review"
    assert local_day(r["init"].due_at) == date(2026, 12, 18) and r["init"].due_clock == "refund_initiation"
    assert local_day(r["inq"].ack_due_at) == date(2026, 12, 18) and r["inq"].due_clock == "acknowledgment"
    assert r["closed"].due_at is None and r["closed"].version == 1


def test_extension_earlier_than_the_recomputed_date_gives_way(desk):
    wed = datetime(2026, 12, 16, 9, tzinfo=TLL)
    early = CAL.end_of_local_day(date(2026, 12, 30))
    tid = add(
        desk,
        "CMP-6",
        "complaint",
        wed,
        status="investigation",
        acknowledged_at=wed,
        extensions=1,
        resolution_due_at=early,
        due_at=early,
        due_clock="resolution",
    )
    with desk.session() as s:
        assert recompute_open_deadlines(s, CAL, NOW) == 1
    assert local_day(get(desk, tid).resolution_due_at) == date(2027, 1, 4)


def test_paused_review_clock_counts_the_pause_from_history(desk):
    wed = datetime(2026, 12, 9, 10, tzinfo=TLL)
    tid = add(desk, "RFD-3", "refund", wed, status="under_review", review_due_at=CAL.due_at(wed, 3))
    with desk.engine.begin() as conn:
        conn.execute(
            insert(TicketEvent.__table__),
            [
                {"ticket_id": tid, "at": datetime(2026, 12, 11, 11, tzinfo=TLL), "action": "pause"},
                {"ticket_id": tid, "at": datetime(2026, 12, 14, 9, 30, tzinfo=TLL), "action": "resume"},
            ],
        )
    with desk.session() as s:
        assert recompute_open_deadlines(s, CAL, NOW) == 1
    row = get(desk, tid)
    # 3 bd (Mon 14th) plus the one paused business day (Monday): Tue 15th
    assert local_day(row.review_due_at) == local_day(row.due_at) == date(2026, 12, 15)
    with desk.session() as s:
        assert recompute_open_deadlines(s, CAL, NOW) == 0


def test_accepts_a_connection_and_an_engine(desk):
    fri = datetime(2026, 12, 18, 15, tzinfo=TLL)
    add(desk, "CMP-7", "complaint", fri)
    with desk.engine.connect() as conn:
        assert preview_recompute(conn, CAL) == 1
    assert recompute_open_deadlines(desk.engine, CAL, NOW) == 1
    assert preview_recompute(desk.engine, CAL) == 0
