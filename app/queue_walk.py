"""All, filtered, read from the filter's walk table (migration 0029) in due
order: the statements, and PostgreSQL's walk within a budget. No Textual here.

`queue_filter.WALK` holds per ticket its due instant, its substring document
and the words of its search document, so a page of All filtered by text most
tickets match reads one narrow table in (due, id) order and tests each row
itself (`queue_filter.walk_match`): the same rows, in the same order, as the
ticket's due index and its documents give.

PostgreSQL decided whether to walk by counting the text's substring matches
up to a cap first (`queue_filter._many`: a bitmap over the trigram index,
each candidate's document read to test it; 20-30 ms at 1,000,000 tickets for
'tok', more than the walk it chose). `within` walks instead, at most a budget
of rows (some hundred a row asked, at least WALK_BUDGET): a page found inside
it is the answer; else the budget is spent (text few tickets match) and the
page is read as before (None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select
from sqlalchemy.sql.util import ClauseAdapter
from sqlmodel import Session

from app import queue_filter

# the rows a walk asks for, bound when it runs beside the view's instants (app.queue_query `_values`)
SKIP, ROWS, UPTO = (bindparam(name, type_=Integer) for name in ("skip", "rows", "upto"))
WALK_BUDGET, WALK_PER_ROW = 30_000, 300


def _parts(dialect: str, source: Any) -> tuple[ColumnElement[bool], ColumnElement[bool], Any]:
    """(has a deadline, has none, the due column) of `source` (the walk table or a subquery of it)."""
    c = source.c
    if dialect == "sqlite":  # due_key: the stored due_at, '' when none
        return c.due_key > "", c.due_key == "", c.due_key
    return c.due_at.is_not(None), c.due_at.is_(None), c.due_at


def statements(dialect: str, match: ColumnElement[bool]) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """(the dated rows [skip, skip + rows) matching `match` in (due, id) order,
    the undated ones in id order, how many dated ones match)."""
    w = queue_filter.WALK
    has, none, due = _parts(dialect, w)
    dated = select(w.c.ticket_id).where(has, match).order_by(due, w.c.ticket_id).offset(SKIP).limit(ROWS)
    undated = select(w.c.ticket_id).where(none, match).order_by(w.c.ticket_id).offset(SKIP).limit(ROWS)
    counted = select(func.count()).select_from(w).where(has, match)
    return dated, undated, counted


def within(
    session: Session, text: str, offset: int, limit: int, run: Callable[[Select[Any]], list[int]]
) -> list[int] | None:
    """PostgreSQL: ids of rows [offset, offset + limit) of All filtered by
    `text`, walked within the budget (`run` runs a walk); None when the text
    is not walked (`queue_filter.walk_match`) or the budget ran out first."""
    match = queue_filter.walk_match(session, text, counted=False)
    if match is None:
        return None
    w = queue_filter.WALK
    budget = max(WALK_BUDGET, (offset + limit) * WALK_PER_ROW)
    has, none, due = _parts("postgresql", w)
    found: list[int] = []
    for dated in (True, False):
        order = (due, w.c.ticket_id) if dated else (w.c.ticket_id,)
        inner = (
            select(w.c.ticket_id, w.c.due_at, w.c.doc, w.c.words)
            .where(has if dated else none)
            .order_by(*order)
            .limit(budget)
            .subquery()
        )
        adapted = ClauseAdapter(inner).traverse(match)
        inner_order = (inner.c.due_at, inner.c.ticket_id) if dated else (inner.c.ticket_id,)
        want = offset + limit - len(found)
        found += run(select(inner.c.ticket_id).where(adapted).order_by(*inner_order).limit(want))
        if len(found) >= offset + limit:
            break
        walked = select(w.c.ticket_id).where(has if dated else none).limit(budget).subquery()
        if int(session.scalar(select(func.count()).select_from(walked)) or 0) >= budget:
            return None  # the budget ran out before the page was found
    return found[offset : offset + limit]


__all__ = ["ROWS", "SKIP", "UPTO", "WALK_BUDGET", "statements", "within"]
