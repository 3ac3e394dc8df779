"""Chargeback evidence pack (esimium 7.3): purchase record, delivery
confirmation, usage data, the communication history and every timestamp, from
the database, as a Markdown file (or a plain PDF) a bank can read.

Customer text is untrusted: it goes into fenced blocks (never interpreted) and
is stripped of control characters."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.errors import InputError, NotFound
from models import Customer, Message, Order, RefundCase, Ticket, TicketEvent
from models.enums import MessageKind
from models.tables import stored_id

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _clean(text: Any) -> str:
    return _CONTROL.sub("", "" if text is None else str(text))


def _ts(dt: datetime | None) -> str:
    if dt is None:
        return "—"
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # stored as UTC
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _inline(text: Any, plain: bool = False) -> str:
    """One-line cell text, Markdown's inline special characters escaped (unless plain)."""
    s = _clean(text).replace("\n", " ").replace("\t", " ")
    return s if plain else re.sub(r"([\\`*_\[\]<>|])", r"\\\1", s)


def _fenced(text: str) -> list[str]:
    body = _clean(text).replace("\r\n", "\n")
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", body, fence]


def _table(rows: list[tuple[str, Any]], plain: bool = False) -> list[str]:
    out = ["| Field | Value |", "|---|---|"]
    out += [f"| {k} | {_inline(v, plain) if v not in (None, '') else '—'} |" for k, v in rows]
    return out


@dataclass(frozen=True)
class _Md:
    """How the pack writes a cell and a table (plain: no Markdown escapes, for the PDF)."""

    plain: bool

    def inl(self, v: Any) -> str:
        return _inline(v, self.plain)

    def tbl(self, rows: list[tuple[str, Any]]) -> list[str]:
        return _table(rows, self.plain)


def build_evidence_markdown(
    session: Session, ticket_reference: str, now: datetime | None = None, plain: bool = False
) -> str:
    """The evidence pack's Markdown text for one ticket (plain: no Markdown escapes, for the PDF)."""
    md = _Md(plain)
    ticket = session.exec(select(Ticket).where(Ticket.reference == ticket_reference)).first()
    if ticket is None:
        raise NotFound(f"no ticket {ticket_reference!r}")
    order = session.get(Order, ticket.order_id) if ticket.order_id else None
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    if customer is None and order is not None:
        customer = session.get(Customer, order.customer_id)
    case = session.exec(select(RefundCase).where(RefundCase.ticket_id == ticket.id)).first()
    messages = session.exec(
        select(Message).where(Message.ticket_id == ticket.id).order_by(col(Message.created_at), col(Message.id))
    ).all()
    events = session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(col(TicketEvent.at), col(TicketEvent.id))
    ).all()
    now = now or datetime.now(UTC)

    L: list[str] = [f"# Chargeback evidence pack: {md.inl(ticket.reference)}", ""]
    L += [f"Prepared {_ts(now)} by the support desk. All times are UTC.", ""]
    L += _purchase_section(md, order, customer)
    L += _delivery_and_usage_sections(md, order)
    L += _order_history_section(session, order, ticket, md)
    L += _refund_case_section(md, case)
    L += _ticket_section(md, ticket)
    L += _communication_section(md, messages)
    L += _timeline_section(md, events)
    return "\n".join(L)


def _purchase_section(md: _Md, order: Order | None, customer: Customer | None) -> list[str]:
    L = ["## Purchase record", ""]
    if order is None:
        return L + ["No order is linked to this ticket.", ""]
    return (
        L
        + md.tbl(
            [
                ("Order number", order.number),
                ("Purchased at", _ts(order.purchased_at)),
                ("Amount", f"{order.amount} {order.currency}"),
                ("Payment method", order.payment_method),
                ("Quantity", order.quantity),
                ("Plan", order.plan),
                ("Validity ends", _ts(order.validity_ends_at) if order.validity_ends_at else None),
                ("Invoice received at", _ts(order.invoice_received_at) if order.invoice_received_at else None),
                ("Reseller", order.reseller),
                ("Order record", _order_source(order)),
                ("Customer", customer.name if customer else None),
                ("Customer email", customer.email if customer else None),
                ("Customer type", customer.customer_type if customer else None),
            ]
        )
        + [""]
    )


def _delivery_and_usage_sections(md: _Md, order: Order | None) -> list[str]:
    L = ["## Delivery confirmation", ""]
    if order is None:
        L += ["—", ""]
    elif order.delivered_at is None:
        L += ["The eSIM profile has no recorded delivery.", ""]
    else:
        L += [
            f"The eSIM profile was delivered at {_ts(order.delivered_at)} "
            f"(after payment at {_ts(order.purchased_at)}).",
            "",
        ]
    L += ["## Usage data", ""]
    if order is None:
        return L + ["—", ""]
    return (
        L
        + md.tbl(
            [
                ("Installed on a device", "yes" if order.installed else "no"),
                ("Activated", "yes" if order.activated else "no"),
                ("Data used (MB)", f"{order.data_used_mb:g}"),
            ]
        )
        + [""]
    )


def _refund_case_section(md: _Md, case: RefundCase | None) -> list[str]:
    L = ["## Refund case", ""]
    if case is None:
        return L + ["No refund case is recorded for this ticket.", ""]
    decision: dict[str, Any] = {}
    if case.decision:
        try:
            decision = json.loads(case.decision)
        except ValueError:
            decision = {}
    L += md.tbl(
        [
            ("Policy", case.policy),
            ("Policy version", case.policy_version),
            ("Outcome", case.outcome),
            ("Sections", ", ".join(decision.get("sections", []))),
            ("Maximum refund", f"{case.max_refund} {case.currency or ''}" if case.max_refund is not None else None),
            ("Refund method", case.refund_method),
            ("Alternative", case.alternative),
            ("Chargeback filed", "yes" if case.chargeback_filed else "no"),
            ("Approved at", _ts(case.approved_at) if case.approved_at else None),
            ("Initiated at", _ts(case.initiated_at) if case.initiated_at else None),
            ("Sent to processor at", _ts(case.sent_to_processor_at) if case.sent_to_processor_at else None),
            ("Completed at", _ts(case.completed_at) if case.completed_at else None),
        ]
    ) + [""]
    if decision.get("explanation"):
        L += ["Decision as explained to the customer:", ""] + _fenced(decision["explanation"]) + [""]
    return L


def _ticket_section(md: _Md, ticket: Ticket) -> list[str]:
    rows: list[tuple[str, Any]] = [
        ("Reference", ticket.reference),
        ("Kind", ticket.kind),
        ("Status", ticket.status),
        ("Received at", _ts(ticket.received_at)),
        ("Acknowledged at", _ts(ticket.acknowledged_at) if ticket.acknowledged_at else None),
        ("Decided at", _ts(ticket.decided_at) if ticket.decided_at else None),
        ("Closed at", _ts(ticket.closed_at) if ticket.closed_at else None),
    ]
    return ["## Ticket", "", *md.tbl(rows), ""]


def _communication_section(md: _Md, messages: Sequence[Message]) -> list[str]:
    shown = [m for m in messages if m.kind != MessageKind.NOTE.value]
    L = [f"## Communication history ({len(shown)} messages; internal notes omitted)", ""]
    for i, m in enumerate(shown, 1):
        direction = "From the customer" if m.kind == MessageKind.INBOUND.value else "To the customer"
        L += [f"### {i}. {direction}, {_ts(m.sent_at or m.created_at)}", ""]
        L += (
            md.tbl(
                [
                    (
                        "From",
                        f"{m.from_name or ''} <{m.from_addr or ''}>".strip()
                        if m.from_addr or m.from_name
                        else m.author,
                    ),
                    ("To", m.to_addr),
                    ("Subject", m.subject),
                    ("Recorded at", _ts(m.created_at)),
                    ("Delivery", m.delivery if m.kind == MessageKind.OUTBOUND.value else None),
                ]
            )
            + [""]
            + _fenced(m.body)
            + [""]
        )
    if not shown:
        L += ["No messages.", ""]
    return L


def _timeline_section(md: _Md, events: Sequence[TicketEvent]) -> list[str]:
    L = [f"## Timeline ({len(events)} events)", ""]
    L += ["| When (UTC) | Who | What | From | To |", "|---|---|---|---|---|"]
    for e in events:
        L.append(
            f"| {_ts(e.at)} | {md.inl(e.actor or 'customer/system')} | {md.inl(e.action)} | "
            f"{md.inl(e.from_status or '')} | {md.inl(e.to_status or '')} |"
        )
    L.append("")
    return L


def _order_source(order: Order) -> str | None:
    if order.source is None:
        return None
    how = {"import": "imported from the shop", "lookup": "looked up in the shop", "demo": "demo data"}.get(
        order.source, order.source
    )
    when = f", last changed {_ts(order.refreshed_at)}" if order.refreshed_at else ""
    return f"{how}{when} (revision {order.revision})"


def _order_history_section(session: Session, order: Order | None, ticket: Ticket, md: _Md) -> list[str]:
    """Every update of the order (what changed, when, from where) and the
    order as the desk knew it when the refund was decided."""
    from app.orders.facts import order_as_of, order_history

    if order is None:
        return []
    rows = order_history(session, stored_id(order))
    L = [f"## Order history ({len(rows)} updates)", ""]
    if rows:
        L += ["| Revision | Recorded (UTC) | Source | Changes |", "|---|---|---|---|"]
        for h in rows:
            changes = json.loads(h.changes or "{}")
            text = "; ".join(f"{k}: {v[0]} → {v[1]}" for k, v in changes.items())
            L.append(f"| {h.revision} | {_ts(h.at)} | {md.inl(h.source)} | {md.inl(text)} |")
        L.append("")
    else:
        L += ["The order has not changed since it was recorded.", ""]
    if ticket.decided_at is not None:
        revision, values = order_as_of(session, order, ticket.decided_at)
        L += [f"At the decision ({_ts(ticket.decided_at)}) the desk held revision {revision} of the order:", ""]
        L += md.tbl([(k.replace("_", " "), "—" if v is None else v) for k, v in values.items()]) + [""]
    return L


def build_evidence_text(session: Session, ticket_reference: str, now: datetime | None = None) -> str:
    """The same pack without Markdown escapes (for the PDF)."""
    return build_evidence_markdown(session, ticket_reference, now, plain=True)


def _pdf_escape(s: str) -> str:
    s = s.encode("latin-1", "replace").decode("latin-1")
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def markdown_to_pdf(text: str) -> bytes:
    """A plain, valid PDF (Courier, A4) of the text, wrapped at 95 columns."""
    lines: list[str] = []
    for raw in text.splitlines():
        while len(raw) > 95:
            lines.append(raw[:95])
            raw = raw[95:]
        lines.append(raw)
    per_page = 64
    pages = [lines[i : i + per_page] for i in range(0, max(len(lines), 1), per_page)] or [[]]
    objs: list[bytes] = []
    kids = []
    n_pages = len(pages)
    # objects: 1 catalog, 2 pages, 3 font, then (page, content) pairs
    for p, chunk in enumerate(pages):
        page_id, content_id = 4 + 2 * p, 5 + 2 * p
        kids.append(f"{page_id} 0 R")
        stream = "BT /F1 9 Tf 11 TL 40 800 Td\n" + "".join(f"({_pdf_escape(line)}) Tj T*\n" for line in chunk) + "ET"
        data = stream.encode("latin-1")
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>".encode()
        )
        objs.append(b"<< /Length " + str(len(data)).encode() + b" >>\nstream\n" + data + b"\nendstream")
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {n_pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
    ]
    allobjs = head + objs
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(allobjs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(allobjs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(allobjs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write_evidence_pack(session: Session, ticket_reference: str, path: str | Path, fmt: str = "md") -> Path:
    """Write the evidence pack for a ticket to `path` (fmt 'md' or 'pdf'); returns the path."""
    if fmt not in ("md", "pdf"):
        raise InputError(f"unknown evidence format {fmt!r} (md, pdf)")
    p = Path(path)
    try:
        if fmt == "md":
            p.write_text(build_evidence_markdown(session, ticket_reference), encoding="utf-8")
        else:
            p.write_bytes(markdown_to_pdf(build_evidence_text(session, ticket_reference)))
    except OSError as exc:
        raise InputError(f"cannot write evidence pack to {p}: {exc.strerror or exc}") from None
    return p
