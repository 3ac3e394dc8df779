"""What the refund wizard shows of a case, read in one pass in a worker: the
ticket, its case and facts, and where each fact came from (or the one line
saying why it cannot be read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from app import refund_cases
from app.db import Desk
from app.errors import DeskError
from app.failures import as_desk_error
from app.orders import facts as order_facts


@dataclass(frozen=True)
class CaseRead:
    """What the wizard shows of a case, read in one pass (off the event loop)."""

    view: refund_cases.CaseView | None = None
    sources: order_facts.TicketFactSources | None = None
    error: DeskError | None = None


def read_case(desk: Desk, reference: str, now: datetime, tz: tzinfo) -> CaseRead:
    """Read the ticket, its case and facts (one indexed lookup) and where its facts came from."""
    try:
        with desk.reader() as s:
            view = refund_cases.load(s, reference.strip().upper())
            return CaseRead(view, order_facts.fact_sources(s, view.ticket, now, tz))
    except Exception as exc:  # noqa: BLE001 - a refusal or a failed database: said in place
        return CaseRead(error=as_desk_error(exc, desk.url))
