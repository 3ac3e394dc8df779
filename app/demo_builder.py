"""The demo generator's rows in memory and the helpers every story uses
(app/demo.py): staff, customers, orders, references, events, messages and
ticket rows, all drawn from one seeded random sequence."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from app.business_calendar import BusinessCalendar
from app.clocks import governing_clock
from app.demo_data import CURRENCIES, DOMAINS, FIRST, HOSTILE_NAMES, LAST, PLANS, STAFF, DemoRow
from app.references import format_reference
from models.enums import REFERENCE_PREFIX, CloseReason, PaymentMethod, TicketKind

# json.dumps(..., sort_keys=True, default=str) without making an encoder per event
_DETAIL_JSON = json.JSONEncoder(sort_keys=True, default=str).encode


def aware_utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class DemoBuilder:
    def __init__(self, n: int, seed: int, now: datetime, cal: BusinessCalendar, login: str) -> None:
        self.n, self.now, self.cal, self.login = n, now, cal, login
        self.rng = random.Random(seed)
        self.staff: list[DemoRow] = []
        self.customers: list[DemoRow] = []
        self.orders: list[DemoRow] = []
        self.tickets: list[DemoRow] = []
        self.events: list[DemoRow] = []
        self.messages: list[DemoRow] = []
        self.refunds: list[DemoRow] = []
        self.quarantine: list[DemoRow] = []
        self.counters: dict[tuple[str, int], int] = {}
        self.order_seq = 0

    # -- people --------------------------------------------------------
    def build_staff(self) -> None:
        rows = list(STAFF)
        if self.login not in {s[0] for s in rows}:
            rows.append((self.login, f"{self.login} (you)", "supervisor"))
        for i, (login, name, role) in enumerate(rows, start=1):
            self.staff.append(
                {
                    "id": i,
                    "login": login,
                    "name": name,
                    "role": role,
                    "email": f"{login}@esimdesk.example",
                    "active": True,
                    "created_at": self.now - timedelta(days=400),
                }
            )
        self.agents = [s for s in self.staff if s["role"] == "agent"]
        self.seniors = [s for s in self.staff if s["role"] == "senior"]
        self.staff_by_login = {s["login"]: s for s in self.staff}

    def customer(self, ctype: str | None = None) -> DemoRow:
        rng = self.rng
        cid = len(self.customers) + 1
        if cid % 997 == 3:
            name = HOSTILE_NAMES[(cid // 997) % len(HOSTILE_NAMES)]
        else:
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        local = name.split()[0].lower().strip("[]\x1b") or "customer"
        local = "".join(ch for ch in local if ch.isalnum()) or "customer"
        ctype = ctype or rng.choices(["end_user", "business", "end_customer"], [85, 9, 6])[0]
        row = {
            "id": cid,
            "name": name,
            "email": f"{local}.{cid}@{rng.choice(DOMAINS)}",
            "phone": f"+372 5{rng.randrange(1000000, 9999999)}",
            "customer_type": ctype,
            "created_at": self.now - timedelta(days=500),
            "anonymised_at": None,
        }
        self.customers.append(row)
        return row

    def order(self, cust: DemoRow, purchased_at: datetime, brand: str | None = None) -> DemoRow:
        rng = self.rng
        self.order_seq += 1
        oid = self.order_seq
        brand = brand or rng.choices(["esimium", "airalo"], [60, 40])[0]
        method = PaymentMethod(list(PaymentMethod)[oid % len(PaymentMethod)]).value
        if brand == "esimium" and method in ("airmoney", "airmoney_promo"):
            method = "card"
        qty = 12 if oid % 53 == 0 else (2 if oid % 11 == 0 else 1)
        delivered = None if oid % 29 == 0 else purchased_at + timedelta(minutes=rng.randrange(1, 90))
        installed = delivered is not None and rng.random() < 0.6
        activated = installed and rng.random() < 0.7
        row = {
            "id": oid,
            "number": f"ORD-{rng.randrange(10**9, 10**10)}-{''.join(rng.choices('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', k=4))}",
            "customer_id": cust["id"],
            "brand": brand,
            "purchased_at": purchased_at,
            "amount": round(rng.choice([4.5, 9.0, 13.0, 19.0, 26.0, 35.0, 49.0]) * qty, 2),
            "currency": rng.choice(CURRENCIES),
            "payment_method": method,
            "quantity": qty,
            "plan": rng.choice(PLANS),
            "delivered_at": delivered,
            "installed": installed,
            "activated": activated,
            "data_used_mb": round(rng.uniform(0, 900), 1) if activated else 0.0,
            "validity_days": 30,
        }
        self.orders.append(row)
        return row

    # -- helpers -------------------------------------------------------
    def reference(self, kind: TicketKind, at: datetime) -> str:
        key = (REFERENCE_PREFIX[kind], at.year)
        self.counters[key] = self.counters.get(key, 0) + 1
        return format_reference(kind, at.year, self.counters[key])

    def event(
        self,
        tid: int,
        at: datetime,
        actor: str | None,
        action: str,
        frm: str | None = None,
        to: str | None = None,
        **detail: object,
    ) -> None:
        self.events.append(
            {
                "ticket_id": tid,
                "at": at,
                "actor": actor,
                "action": action,
                "from_status": frm,
                "to_status": to,
                "detail": _DETAIL_JSON(detail) if detail else None,
            }
        )

    def message(
        self,
        tid: int,
        kind: str,
        at: datetime,
        subject: str,
        body: str,
        *,
        author: str | None = None,
        cust: DemoRow | None = None,
        template: str | None = None,
        delivery: str | None = None,
    ) -> None:
        mid = len(self.messages) + 1
        self.messages.append(
            {
                "ticket_id": tid,
                "kind": kind,
                "message_id": f"<demo-{mid}@esimdesk.example>",
                "dedupe_key": None,
                "in_reply_to": None,
                "from_addr": cust["email"]
                if (cust and kind == "inbound")
                else (None if kind == "note" else "complaints@esimdesk.example"),
                "from_name": cust["name"] if (cust and kind == "inbound") else None,
                "to_addr": cust["email"] if (cust and kind == "outbound") else None,
                "subject": subject,
                "body": body,
                "template": template,
                "author": author,
                "sent_at": at if delivery == "sent" else None,
                "created_at": at,
                "delivery": delivery,
                "attempts": 1 if delivery in ("sent", "failed") else 0,
                "next_attempt_at": None,
                "last_error": "550 mailbox unavailable" if delivery == "failed" else None,
            }
        )

    def past(self, max_days: float, min_days: float = 0.0) -> datetime:
        """A random instant in the past, during desk-local office-ish hours."""
        t = self.now - timedelta(days=self.rng.uniform(min_days, max_days))
        return t.replace(microsecond=0)

    def later(self, t: datetime, lo_h: float, hi_h: float) -> datetime:
        out = t + timedelta(hours=self.rng.uniform(lo_h, hi_h))
        return min(out, self.now - timedelta(minutes=1)).replace(microsecond=0)

    def finish(self, row: DemoRow) -> DemoRow:
        clock, _start, due, stopped = governing_clock(SimpleNamespace(**row))
        if row["status"] == "closed" or clock is None or stopped is not None:
            row["due_at"], row["due_clock"] = None, None
        else:
            row["due_at"], row["due_clock"] = due, clock.value if due else None
        self.tickets.append(row)
        return row

    def base(self, kind: TicketKind, received: datetime, cust: DemoRow, subject: str, order: DemoRow | None) -> DemoRow:
        tid = len(self.tickets) + 1
        return {
            "id": tid,
            "reference": self.reference(kind, received),
            "kind": kind.value,
            "status": "submitted",
            "subject": subject,
            "description": None,
            "brand": order["brand"] if order else None,
            "priority": self.rng.choices([1, 2, 3], [15, 70, 15])[0],
            "region": None,
            "incident_date": None,
            "inquiry_reference": None,
            "info_needed": None,
            "out_of_scope": None,
            "close_reason": None,
            "customer_id": cust["id"],
            "order_id": order["id"] if order else None,
            "order_number": order["number"] if order else None,
            "assignee_id": None,
            "reviewer_id": None,
            "escalation_of_id": None,
            "received_at": received,
            "ack_due_at": None,
            "acknowledged_at": None,
            "resolution_due_at": None,
            "resolution_communicated_at": None,
            "final_response_due_at": None,
            "final_response_at": None,
            "review_due_at": None,
            "decided_at": None,
            "extensions": 0,
            "paused_since": None,
            "due_at": None,
            "due_clock": None,
            "closed_at": None,
            "version": 1,
            "created_at": received,
            "updated_at": received,
            "updated_by": None,
        }

    def close(self, t: DemoRow, login: str, at: datetime, frm: str | None, reason: CloseReason) -> None:
        """Close ticket row `t` at `at` (its "closed" event)."""
        t["status"], t["close_reason"], t["closed_at"] = "closed", reason.value, at
        self.event(t["id"], at, login, "closed", frm, "closed", reason=reason.value)
        self.bump(t, login, at)

    def bump(self, row: DemoRow, actor: str | None, at: datetime) -> None:
        row["version"] += 1
        row["updated_at"], row["updated_by"] = at, actor
