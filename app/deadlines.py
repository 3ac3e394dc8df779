"""Recompute every open ticket's deadlines after a calendar change, in one batch.

One SELECT of the open tickets' clock columns, one SELECT of their pause and
resume events, the arithmetic in Python over the calendar's O(1) index, and
one executemany UPDATE (in id order) of the rows whose values change
(SQLAlchemy Core).

Rules:
- Only clocks still running move: a stopped clock keeps the deadline it was
  judged against. The running clock is the one app.sla_clocks.governing_clock
  picks; `due_at`/`due_clock` are set to it (null when none runs).
- An extended complaint (extensions > 0) keeps its resolution date when that
  is later than the recomputed one.
- Business days spent waiting on the customer (closed pause intervals that
  began after the clock started) are added, by the rule of
  app.sla_clocks.resume_due.
- A refund's initiation clock (its due only in due_at) is recomputed while
  due_clock says refund_initiation.
- Changed rows get updated_at=now, updated_by="calendar", version+1, so an
  open screen reloads instead of overwriting.

On SQLite the instants are read and written as the stored text (the UTC
format SQLAlchemy writes), which avoids building 10^6 datetime objects; on
PostgreSQL they are ordinary aware datetimes.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter

from sqlalchemy import String, bindparam, select, type_coerce, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from app.business_calendar import BusinessCalendar
from app.sla_clocks import (
    ACK_BUSINESS_DAYS,
    FINAL_RESPONSE_BUSINESS_DAYS,
    REFUND_INITIATION_BUSINESS_DAYS,
    REFUND_REVIEW_BUSINESS_DAYS,
    RESOLUTION_BUSINESS_DAYS,
    paused_business_days,
    paused_intervals,
)
from models.enums import Clock, TicketStatus
from models.history import TicketEvent
from models.ticket import Ticket

RECOMPUTE_ACTOR = "calendar"
_T = Ticket.__table__
_E = TicketEvent.__table__
_INSTANTS = (
    "received_at", "acknowledged_at", "resolution_communicated_at", "final_response_at", "decided_at",
    "ack_due_at", "resolution_due_at", "final_response_due_at", "review_due_at", "due_at",
)
_CLOSED = TicketStatus.CLOSED.value


def _text_mode(conn: Connection) -> bool:
    """Work on the stored text (SQLite) rather than datetime objects."""
    return conn.dialect.name == "sqlite"


class _Codec:
    """Stored instant <-> desk-local day ordinal, for one connection's dialect."""

    def __init__(self, conn: Connection, cal: BusinessCalendar) -> None:
        self.cal = cal
        self.text = _text_mode(conn)
        self._to_store = _T.c.due_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) if self.text else None
        self._ord: dict = {}
        self._enc: dict[int, object] = {}
        self._due: dict[tuple[int, str], object] = {}

    def column(self, name: str):
        col = _T.c[name]
        return type_coerce(col, String).label(name) if self.text else col

    def param(self, name: str):
        return bindparam(name, type_=String) if self.text else bindparam(name)

    def to_datetime(self, v) -> datetime:
        if self.text:
            return datetime.fromisoformat(v).replace(tzinfo=UTC)
        return v

    def local_ordinal(self, v) -> int:
        """Desk-local day of a stored instant. Text values are cached per UTC
        hour when the whole hour falls on one local day, else per minute
        (offsets are whole minutes, so the minute decides the day)."""
        if not self.text:
            return v.astimezone(self.cal.tz).toordinal()
        o = self._ord.get(v[:13])
        if o is None:
            o = self._ord.get(v[:16])
            if o is None:
                o = self._miss(v)
        return o

    def _miss(self, v: str) -> int:
        tz = self.cal.tz
        hour = datetime.fromisoformat(v[:13] + ":00").replace(tzinfo=UTC)
        first = hour.astimezone(tz).toordinal()
        last = (hour + timedelta(minutes=59)).astimezone(tz).toordinal()
        if first == last:
            self._ord[v[:13]] = first
            return first
        o = self._ord[v[:16]] = datetime.fromisoformat(v[:16]).replace(tzinfo=UTC).astimezone(tz).toordinal()
        return o

    def due(self, v, n: int):
        """Stored form of the end of the n-th business day after v's local day
        (text values cached per (n, UTC hour) like local_ordinal)."""
        if not self.text:
            return self.end_of_day(self.cal.nth_business_ordinal(self.local_ordinal(v), n))
        r = self._due.get((n, v[:13]))
        if r is None:
            r = self._due.get((n, v[:16]))
            if r is None:
                r = self.end_of_day(self.cal.nth_business_ordinal(self.local_ordinal(v), n))
                self._due[(n, v[:13]) if v[:13] in self._ord else (n, v[:16])] = r
        return r

    def end_of_day(self, o: int):
        v = self._enc.get(o)
        if v is None:
            dt = self.cal.end_of_local_day(date.fromordinal(o))
            v = self._enc[o] = self._to_store(dt) if self.text else dt.astimezone(UTC)
        return v


def _pauses(conn: Connection) -> dict[int, list]:
    rows = conn.execute(
        select(_E.c.ticket_id, _E.c.action, _E.c.at)
        .join(_T, _T.c.id == _E.c.ticket_id)
        .where(_E.c.action.in_(("pause", "resume")), _T.c.status != _CLOSED)
    )
    by_ticket: dict[int, list] = defaultdict(list)
    for r in rows:
        by_ticket[r.ticket_id].append(r)
    return {tid: paused_intervals(evs) for tid, evs in by_ticket.items()}


def _changes(conn: Connection, cal: BusinessCalendar, codec: _Codec, ids: tuple[int, int] | None = None) -> list[tuple]:
    """(id, ack, resolution, final response, review, due_at, due_clock) of every
    open ticket (with an id in `ids`, inclusive, when given) whose deadlines change, in id order."""
    pauses = _pauses(conn)
    col = codec.column
    result = conn.execute(
        select(
            _T.c.id, _T.c.kind, col("received_at"), col("acknowledged_at"), col("resolution_communicated_at"),
            col("final_response_at"), col("decided_at"), _T.c.extensions,
            col("ack_due_at"), col("resolution_due_at"), col("final_response_due_at"), col("review_due_at"),
            col("due_at"), _T.c.due_clock,
        ).where(_T.c.status != _CLOSED, *(() if ids is None else (_T.c.id.between(*ids),)))
    )
    # text mode has no result processing to do (strings and integers), so the
    # driver's tuples are the rows; skipping Row objects saves ~0.1 s per 100k
    rows = result.cursor.fetchall() if codec.text else result.all()
    result.close()
    due_for = codec.due
    ACK, RES, FIN, REV, INIT = (
        Clock.ACKNOWLEDGMENT.value, Clock.RESOLUTION.value, Clock.FINAL_RESPONSE.value,
        Clock.REFUND_REVIEW.value, Clock.REFUND_INITIATION.value,
    )
    out: list[tuple] = []
    add = out.append
    for (tid, kind, received, acked, communicated, responded, decided, extensions,
         ack_due, res_due, fin_due, rev_due, gov_due, gov_clock) in rows:
        intervals = pauses.get(tid) if pauses else None
        if kind == "complaint" or kind == "inquiry":
            if acked is None:
                n = ACK_BUSINESS_DAYS
                if intervals:
                    n += paused_business_days(cal, intervals, codec.to_datetime(received))
                due = due_for(received, n)
                if due != ack_due or due != gov_due or gov_clock != ACK:
                    add((tid, due, res_due, fin_due, rev_due, due, ACK))
                continue
            if kind == "complaint" and communicated is None:
                n = RESOLUTION_BUSINESS_DAYS
                if intervals:
                    n += paused_business_days(cal, intervals, codec.to_datetime(acked))
                due = due_for(acked, n)
                if extensions and res_due is not None and res_due > due:
                    due = res_due  # an extension to a later date stands
                if due != res_due or due != gov_due or gov_clock != RES:
                    add((tid, ack_due, due, fin_due, rev_due, due, RES))
                continue
        elif kind == "escalation":
            if responded is None:
                n = FINAL_RESPONSE_BUSINESS_DAYS
                if intervals:
                    n += paused_business_days(cal, intervals, codec.to_datetime(received))
                due = due_for(received, n)
                if due != fin_due or due != gov_due or gov_clock != FIN:
                    add((tid, ack_due, res_due, due, rev_due, due, FIN))
                continue
        elif kind == "refund":
            if gov_clock in _KEPT_REFUND_CLOCKS:
                continue  # the 24-hour ack (hours, not business days) and the post-decision clocks keep their dates
            if decided is None:
                n = REFUND_REVIEW_BUSINESS_DAYS
                if intervals:
                    n += paused_business_days(cal, intervals, codec.to_datetime(received))
                due = due_for(received, n)
                if due != rev_due or due != gov_due or gov_clock != REV:
                    add((tid, ack_due, res_due, fin_due, due, due, REV))
                continue
            if gov_clock == INIT:
                n = REFUND_INITIATION_BUSINESS_DAYS
                if intervals:
                    n += paused_business_days(cal, intervals, codec.to_datetime(decided))
                due = due_for(decided, n)
                if due != gov_due:
                    add((tid, ack_due, res_due, fin_due, rev_due, due, INIT))
                continue
        else:  # a kind this module does not know: leave it alone
            continue
        # no clock runs
        if gov_due is not None or gov_clock is not None:
            add((tid, ack_due, res_due, fin_due, rev_due, None, None))
    out.sort()  # id order: far fewer pages touched
    return out


_KEPT_REFUND_CLOCKS = (Clock.REFUND_ACK.value, Clock.REFUND_DECISION.value, Clock.REFUND_IN_ACCOUNT.value)
_FIELDS = ("b_id", "b_ack", "b_res", "b_fin", "b_rev", "b_due", "b_clock")


def _update_statement(codec: _Codec):
    p = codec.param
    return (
        update(_T)
        .where(_T.c.id == bindparam("b_id"))
        .values(
            ack_due_at=p("b_ack"),
            resolution_due_at=p("b_res"),
            final_response_due_at=p("b_fin"),
            review_due_at=p("b_rev"),
            due_at=p("b_due"),
            due_clock=bindparam("b_clock"),
            updated_at=p("b_now"),
            updated_by=bindparam("b_by"),
            version=_T.c.version + 1,
        )
    )


def _run(target, fn):
    if isinstance(target, Session):
        return fn(target.connection())
    if isinstance(target, Engine):
        with target.begin() as conn:
            return fn(conn)
    return fn(target)


def _aware(now: datetime) -> datetime:
    return now if now.utcoffset() is not None else now.replace(tzinfo=UTC)


def recompute_open_deadlines(session_or_conn, cal: BusinessCalendar, now: datetime, ids: tuple[int, int] | None = None) -> int:
    """Recompute and store the deadlines of every open ticket (with an id in
    `ids`, when given: one batch); returns how many tickets changed. Takes a
    Session, a Connection (caller commits) or an Engine."""
    now = _aware(now)

    def work(conn: Connection) -> int:
        codec = _Codec(conn, cal)
        changes = _changes(conn, cal, codec, ids)
        if not changes:
            return 0
        stmt = _update_statement(codec)
        if codec.text:
            # one executemany straight to the driver: the values are already
            # in their stored form, so skip the per-row parameter processing
            compiled = stmt.compile(dialect=conn.dialect)
            consts = dict(compiled.params, b_now=codec._to_store(now), b_by=RECOMPUTE_ACTOR)
            tail = tuple(v for k, v in consts.items() if k not in _FIELDS)
            slots = _FIELDS + tuple(k for k in consts if k not in _FIELDS)
            pick = itemgetter(*(slots.index(name) for name in compiled.positiontup))
            conn.exec_driver_sql("PRAGMA cache_size = -65536")  # 64 MiB: the index pages stay in memory
            conn.exec_driver_sql(str(compiled), [pick(c + tail) for c in changes])
        else:
            extra = {"b_now": now.astimezone(UTC), "b_by": RECOMPUTE_ACTOR}
            conn.execute(stmt, [{**dict(zip(_FIELDS, c)), **extra} for c in changes])
        return len(changes)

    return _run(session_or_conn, work)


def preview_recompute(session_or_conn, cal: BusinessCalendar, now: datetime | None = None) -> int:
    """How many open tickets recompute_open_deadlines would change (no writes)."""
    return _run(session_or_conn, lambda conn: len(_changes(conn, cal, _Codec(conn, cal))))
