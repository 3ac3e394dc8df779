"""A cheap "has anything changed?" marker for consoles to poll.

Every change to a ticket bumps its `updated_at` (app.tickets.touch) and most
append a TicketEvent, and new tickets add a row, so the tuple
(newest ticket change, newest ticket id, newest event id) changes whenever a
queue could look different (tickets are never deleted). Each is a separate
MAX over an index (SQLite answers those with one index seek; combined with a
COUNT in one SELECT it would scan the table), so polling it every second from
many consoles costs almost nothing. A console refreshes its view when
the marker differs from the one it last saw (`Watcher.changed`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from models import Ticket, TicketEvent

POLL_SECONDS = 1.0

Marker = tuple[datetime | None, int, int]


def marker(session: Session) -> Marker:
    """(max(ticket.updated_at), max(ticket.id), max(ticket_event.id))."""
    newest = session.scalar(select(func.max(Ticket.updated_at)))
    last_ticket = session.scalar(select(func.max(Ticket.id)))
    last_event = session.scalar(select(func.max(TicketEvent.id)))
    return (newest, int(last_ticket or 0), int(last_event or 0))


class Watcher:
    """Remembers the last marker seen; `changed` says whether to refresh
    (the first call only records the marker and returns False)."""

    def __init__(self) -> None:
        self.last: Marker | None = None

    def changed(self, session: Session) -> bool:
        current = marker(session)
        if current == self.last:
            return False
        first = self.last is None
        self.last = current
        return not first


__all__ = ["POLL_SECONDS", "Marker", "Watcher", "marker"]
