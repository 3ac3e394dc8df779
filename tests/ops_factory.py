"""Small, explicit desk contents for the ops tests (retention, backup)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import inspect, text

from app import history
from models import Attachment, Customer, Message, Ticket


def customer(s, n: int, now: datetime, created_days_ago: int = 1000) -> Customer:
    c = Customer(
        name=f"Person {n}",
        email=f"person{n}@example.com",
        phone=f"+372 555 {n:04d}",
        created_at=now - timedelta(days=created_days_ago),
    )
    s.add(c)
    s.flush()
    return c


def ticket(
    s, ref: str, now: datetime, cust: Customer | None, closed_days_ago: int | None, with_attachment: bool = True
) -> Ticket:
    """A ticket with one inbound message (optionally an attachment), one note and two events."""
    received = now - timedelta(days=(closed_days_ago or 0) + 20)
    t = Ticket(
        reference=ref,
        kind="complaint",
        subject=f"Problem {ref}",
        description=f"My name is {cust.name if cust else 'X'}, call me",
        customer_id=cust.id if cust else None,
        received_at=received,
        created_at=received,
        updated_at=received,
        status="closed" if closed_days_ago is not None else "investigation",
        closed_at=now - timedelta(days=closed_days_ago) if closed_days_ago is not None else None,
        close_reason="accepted" if closed_days_ago is not None else None,
    )
    s.add(t)
    s.flush()
    m = Message(
        ticket_id=t.id,
        kind="inbound",
        from_addr=cust.email if cust else "anon@example.com",
        from_name=cust.name if cust else "Anon",
        to_addr="complaints@esimdesk.example",
        subject=f"Problem {ref}",
        body="My IBAN is EE123",
        created_at=received,
    )
    s.add(m)
    s.add(
        Message(
            ticket_id=t.id,
            kind="outbound",
            from_addr="complaints@esimdesk.example",
            to_addr=cust.email if cust else "anon@example.com",
            subject=f"Re: Problem {ref}",
            body="Dear customer",
            created_at=received,
            delivery="sent",
        )
    )
    s.flush()
    if with_attachment:
        s.add(
            Attachment(
                message_id=m.id, filename="passport.jpg", content_type="image/jpeg", size=4, data=b"\xff\xd8\xff\xe0"
            )
        )
    history.record(s, t.id, None, "created", received, to_status="submitted")
    if closed_days_ago is not None:
        history.record(s, t.id, "alice", "status", t.closed_at, from_status="investigation", to_status="closed")
    return t


def dump_tables(engine) -> dict[str, list[tuple]]:
    """Every row of every table, ordered, for exact comparisons."""
    out = {}
    insp = inspect(engine)
    columns = {name: [c["name"] for c in insp.get_columns(name)] for name in sorted(insp.get_table_names())}
    with engine.connect() as conn:
        for name, cols in columns.items():
            rows = conn.execute(text(f'SELECT * FROM "{name}" ORDER BY ' + ", ".join(f'"{c}"' for c in cols))).all()
            out[name] = [tuple(r) for r in rows]
    return out


__all__ = ["customer", "dump_tables", "ticket"]
