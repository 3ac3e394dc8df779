"""A realistic demo desk, deterministic for a given seed and anchor time.

Everything is generated in memory and written with SQLAlchemy Core in large
batches (100,000 tickets in well under a minute). The tickets obey the
workflow's rules: clocks computed by the business calendar, history events
for every step, escalations reviewed only by seniors who never touched the
complaint, out-of-scope inquiries closed without complaint clocks, refund
cases decided by the refund engine.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, insert, select
from sqlmodel import Session

from app.business_calendar import BusinessCalendar
from app.clocks import governing_clock
from app.errors import InputError
from app.identity import os_login
from app.references import format_reference
from app.sla_clocks import clock_due, refund_in_account_due
from models import (
    Customer,
    DeskSetting,
    Message,
    Order,
    Quarantine,
    ReferenceCounter,
    RefundCase,
    Staff,
    Ticket,
    TicketEvent,
    table_of,
)
from models.enums import (
    REFERENCE_PREFIX,
    Clock,
    CloseReason,
    OutOfScope,
    PaymentMethod,
    Region,
    TicketKind,
)

STAFF = [
    ("alice", "Alice Tamm", "agent"),
    ("bob", "Bob Kask", "agent"),
    ("carmen", "Carmen Ruiz", "agent"),
    ("dmitri", "Dmitri Ivanov", "agent"),
    ("eva", "Eva Saar", "agent"),
    ("farid", "Farid Haddad", "agent"),
    ("grace", "Grace Mensah", "agent"),
    ("hiro", "Hiro Tanaka", "agent"),
    ("sofia", "Sofia Lind", "senior"),
    ("marek", "Marek Novak", "senior"),
    ("priya", "Priya Nair", "senior"),
    ("olivia", "Olivia Brown", "supervisor"),
    ("adam", "Adam Admin", "admin"),
]
FIRST = [
    "Maria",
    "John",
    "Aino",
    "Kenji",
    "Fatima",
    "Lucas",
    "Chen",
    "Amara",
    "Olga",
    "Diego",
    "Sara",
    "Tom",
    "Leila",
    "Mikael",
    "Ana",
    "Ravi",
    "Ingrid",
    "Kwame",
    "Yuki",
    "Elena",
    "Omar",
    "Nora",
    "Pedro",
    "Liis",
]
LAST = [
    "Smith",
    "Tamm",
    "Garcia",
    "Müller",
    "Nguyen",
    "Okafor",
    "Silva",
    "Kowalski",
    "Rossi",
    "Haddad",
    "Sato",
    "Andersen",
    "Petrov",
    "Mensah",
    "Fernández",
    "Kask",
    "O'Brien",
    "Zhang",
    "Novak",
    "Dubois",
]
DOMAINS = ["example.com", "mail.example", "inbox.example.org", "corp.example.net"]
# A few hostile customers, so the console's inert rendering is always on show.
HOSTILE_NAMES = [
    "[bold red]Mallory[/] [@click=app.quit]x[/]",
    "Eve \x1b[2J\x1b]52;c;cHduZWQ=\x07Evil",
    "Trudy \u202egnp.exe",
]
COMPLAINT_SUBJECTS = [
    "Complaint Regarding eSIM Service",
    "Complaint: no data in Tokyo",
    "Complaint - eSIM not activating",
    "Complaint about slow speeds in Lisbon",
    "Complaint: charged twice",
    "Complaint regarding support response",
    "Complaint: QR code not working",
    "Complaint about coverage in Nairobi",
]
INQUIRY_SUBJECTS = [
    "Question about my phone",
    "Which plan for Peru?",
    "Roaming with my home carrier",
    "My iPhone screen is broken",
    "Refund from my mobile operator",
    "I read you give free data",
]
REFUND_REASONS = [
    "non_delivery",
    "technical_failure",
    "service_unavailable",
    "duplicate_charge",
    "incorrect_product",
    "billing_error",
    "cancel_before_activation",
    "device_incompatible",
    "installation_error",
    "wrong_purchase",
    "changed_plans",
    "no_longer_needed",
    "unused_data",
    "network_coverage",
    "unauthorized_purchase",
    "medical_emergency",
    "replacement_request",
]
PLANS = [
    "Europe 5 GB 30 days",
    "Japan 3 GB 15 days",
    "Global 10 GB 30 days",
    "USA 20 GB 30 days",
    "Africa 2 GB 7 days",
    "Asia 8 GB 30 days",
    "LatAm 5 GB 15 days",
]
CURRENCIES = ["EUR", "USD", "GBP"]
OOS_SUBJECT = {
    OutOfScope.THIRD_PARTY_PLAN: "My T-Mobile plan stopped working",
    OutOfScope.HARDWARE: "My phone's screen is broken",
    OutOfScope.PROVIDER_REFUND: "Refund for a plan I bought from my operator",
    OutOfScope.GENERAL_INQUIRY: "Which plan should I buy for Peru?",
    OutOfScope.MISINFORMATION: "A blog said you give free data",
}

# (status, weight) for complaints
COMPLAINT_MIX = [
    ("submitted", 8),
    ("acknowledged", 8),
    ("information_gathering", 7),
    ("investigation", 12),
    ("resolution_proposed", 6),
    ("resolution_communicated", 5),
    ("escalated", 7),
    ("closed_accepted", 37),
    ("closed_final", 10),
]
STEP_ORDER = [
    "acknowledged",
    "information_gathering",
    "investigation",
    "resolution_proposed",
    "resolution_communicated",
]


@dataclass
class DemoResult:
    tickets: int = 0
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class _Builder:
    def __init__(self, n: int, seed: int, now: datetime, cal: BusinessCalendar, login: str) -> None:
        self.n, self.now, self.cal, self.login = n, now, cal, login
        self.rng = random.Random(seed)
        self.staff: list[dict] = []
        self.customers: list[dict] = []
        self.orders: list[dict] = []
        self.tickets: list[dict] = []
        self.events: list[dict] = []
        self.messages: list[dict] = []
        self.refunds: list[dict] = []
        self.quarantine: list[dict] = []
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

    def customer(self, ctype: str | None = None) -> dict:
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

    def order(self, cust: dict, purchased_at: datetime, brand: str | None = None) -> dict:
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
        **detail,
    ) -> None:
        self.events.append(
            {
                "ticket_id": tid,
                "at": at,
                "actor": actor,
                "action": action,
                "from_status": frm,
                "to_status": to,
                "detail": json.dumps(detail, sort_keys=True, default=str) if detail else None,
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
        cust: dict | None = None,
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

    def finish(self, row: dict) -> dict:
        clock, _start, due, stopped = governing_clock(SimpleNamespace(**row))
        if row["status"] == "closed" or clock is None or stopped is not None:
            row["due_at"], row["due_clock"] = None, None
        else:
            row["due_at"], row["due_clock"] = due, clock.value if due else None
        self.tickets.append(row)
        return row

    def base(self, kind: TicketKind, received: datetime, cust: dict, subject: str, order: dict | None) -> dict:
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

    def bump(self, row: dict, actor: str | None, at: datetime) -> None:
        row["version"] += 1
        row["updated_at"], row["updated_by"] = at, actor

    # -- complaints and escalations -----------------------------------------
    def complaint(self, plan: str) -> None:
        rng, cal = self.rng, self.cal
        cust = self.customer()
        open_ = not plan.startswith("closed")
        received = self.past(4, 0.02) if plan == "submitted" else (self.past(16, 1) if open_ else self.past(90, 15))
        order = self.order(cust, received - timedelta(days=rng.uniform(1, 20))) if rng.random() < 0.6 else None
        subject = rng.choice(COMPLAINT_SUBJECTS)
        t = self.base(TicketKind.COMPLAINT, received, cust, subject, order)
        tid = t["id"]
        t["region"] = rng.choice(list(Region)).value
        t["incident_date"] = (received - timedelta(days=rng.randrange(0, 4))).date().isoformat()
        if rng.random() < 0.2:
            t["inquiry_reference"] = f"INQ-{received.year}-{rng.randrange(1, 999999):06d}"
        no_phone = rng.random() < 0.08
        if no_phone:
            t["info_needed"] = "phone"
        t["description"] = (
            f"Since {t['incident_date']} my eSIM ({order['plan'] if order else 'travel plan'}) has not worked as promised. I tried restarting my phone."
        )
        t["ack_due_at"] = clock_due(cal, Clock.ACKNOWLEDGMENT, received)
        self.event(tid, received, None, "created", None, "submitted", source="email")
        self.message(tid, "inbound", received, subject, t["description"], cust=cust)
        agent = rng.choice(self.agents)
        if plan == "submitted":
            if rng.random() < 0.5:
                t["assignee_id"] = agent["id"]
                self.event(tid, received + timedelta(minutes=5), "olivia", "assign", assignee=agent["login"])
                self.bump(t, "olivia", received + timedelta(minutes=5))
            self.finish(t)
            return
        t["assignee_id"] = agent["id"]
        at = received + timedelta(minutes=rng.randrange(3, 60))
        self.event(tid, at, "olivia", "assign", assignee=agent["login"])
        # acknowledgment: mostly on time, a few late (missed clock)
        ack = self.later(received, 0.5, 30 if rng.random() < 0.9 else 100)
        ack = max(ack, at + timedelta(minutes=1))
        t["acknowledged_at"] = ack
        t["status"] = "acknowledged"
        t["resolution_due_at"] = clock_due(cal, Clock.RESOLUTION, ack)
        self.event(
            tid,
            ack,
            agent["login"],
            "acknowledged",
            "submitted",
            "acknowledged",
            resolution_due_at=t["resolution_due_at"],
        )
        self.message(
            tid,
            "outbound",
            ack,
            f"[{t['reference']}] We received your complaint",
            f"Your complaint reference is {t['reference']}. We will resolve it by {t['resolution_due_at'].date().isoformat()}.",
            author=agent["login"],
            cust=cust,
            template="acknowledgment",
            delivery="sent" if tid % 41 else "failed",
        )
        self.bump(t, agent["login"], ack)
        targets = {
            "acknowledged": 0,
            "information_gathering": 1,
            "investigation": 2,
            "resolution_proposed": 3,
            "resolution_communicated": 4,
            "escalated": 4,
            "closed_accepted": 4,
            "closed_final": 4,
        }
        last = ack
        span_h = 24 * (3 if open_ else 9)
        for i in range(1, targets[plan] + 1):
            step_at = self.later(last, 1, span_h / 4)
            frm, to = STEP_ORDER[i - 1], STEP_ORDER[i]
            self.event(tid, step_at, agent["login"], "status", frm, to)
            self.bump(t, agent["login"], step_at)
            if to == "information_gathering" and rng.random() < 0.5:
                self.message(tid, "note", step_at, "", "Asked network ops for the cell logs.", author=agent["login"])
                self.event(tid, step_at, agent["login"], "note")
            if to == "resolution_communicated":
                t["resolution_communicated_at"] = step_at
                self.message(
                    tid,
                    "outbound",
                    step_at,
                    f"[{t['reference']}] Our proposed resolution",
                    "We have reissued your eSIM profile and credited your account.",
                    author=agent["login"],
                    cust=cust,
                    template="proposed_resolution",
                    delivery="sent",
                )
            t["status"] = to
            last = step_at
        # a senior colleague sometimes leaves an internal note on a complaint:
        # that senior may then never review its escalation (impartiality).
        if rng.random() < 0.3:
            senior = rng.choice(self.seniors)
            at = self.later(ack, 1, 20)
            self.message(
                tid, "note", at, "", "Seen this pattern before: check the APN settings.", author=senior["login"]
            )
            self.event(tid, at, senior["login"], "note")
        # extensions of complex complaints (with a progress message)
        if plan in ("investigation", "resolution_proposed", "information_gathering") and rng.random() < 0.18:
            old = t["resolution_due_at"]
            new = cal.due_at(old, 5)
            at = self.later(last, 0.5, 10)
            t["resolution_due_at"] = new
            t["extensions"] = 1
            self.event(
                tid, at, "olivia", "extend", reason="awaiting the network operator's report", before=old, after=new
            )
            self.message(
                tid,
                "outbound",
                at,
                f"[{t['reference']}] Progress update",
                f"We need more time; your new timeframe is {new.date().isoformat()}.",
                author="olivia",
                cust=cust,
                template="progress_update",
                delivery="sent",
            )
            self.bump(t, "olivia", at)
        if plan == "closed_accepted":
            at = self.later(last, 2, 96)
            t["status"], t["close_reason"], t["closed_at"] = "closed", CloseReason.ACCEPTED.value, at
            self.event(tid, at, agent["login"], "closed", "resolution_communicated", "closed", reason="accepted")
            self.bump(t, agent["login"], at)
        self.finish(t)
        if plan in ("escalated", "closed_final"):
            self.escalation(t, cust, last, closed=plan == "closed_final")

    def escalation(self, complaint: dict, cust: dict, communicated: datetime, closed: bool) -> None:
        rng = self.rng
        received = self.later(communicated, 2, 72)
        if not closed:  # keep open escalations' clocks recent, so some are on track
            received = max(received, self.now - timedelta(days=rng.uniform(0.1, 9)))
        touched = self._handlers(complaint["id"])
        eligible = [s for s in self.seniors if s["login"] not in touched]
        e = self.base(TicketKind.ESCALATION, received, cust, f"Escalation: {complaint['reference']}", None)
        e["order_id"], e["order_number"] = complaint["order_id"], complaint["order_number"]
        e["escalation_of_id"] = complaint["id"]
        e["region"] = complaint["region"]
        e["description"] = "I am not satisfied with the proposed resolution: the eSIM still does not work."
        e["final_response_due_at"] = clock_due(self.cal, Clock.FINAL_RESPONSE, received)
        self.event(e["id"], received, None, "created", None, "submitted", escalation_of=complaint["reference"])
        self.message(e["id"], "inbound", received, e["subject"], e["description"], cust=cust)
        self.message(
            e["id"],
            "outbound",
            received + timedelta(hours=1),
            f"[{e['reference']}] Your escalation request",
            "A senior reviewer who was not involved in your complaint will send the final response.",
            author="olivia",
            cust=cust,
            template="escalation_acknowledgment",
            delivery="sent",
        )
        self.event(
            complaint["id"],
            received,
            None,
            "escalated",
            "resolution_communicated",
            "escalated",
            escalation=e["reference"],
        )
        complaint["status"] = "escalated"
        self.bump(complaint, None, received)
        if eligible and (closed or rng.random() < 0.7):
            rev = rng.choice(eligible)
            at = received + timedelta(hours=rng.uniform(1, 20))
            at = min(at, self.now - timedelta(minutes=2))
            e["reviewer_id"] = e["assignee_id"] = rev["id"]
            e["status"] = "in_review"
            self.event(e["id"], at, rev["login"], "review_taken", "submitted", "in_review")
            self.bump(e, rev["login"], at)
            if closed:
                fr = self.later(at, 4, 100)
                e["final_response_at"] = fr
                e["status"], e["close_reason"], e["closed_at"] = "closed", CloseReason.FINAL_RESPONSE.value, fr
                self.event(e["id"], fr, rev["login"], "final_response", "in_review", "closed")
                self.message(
                    e["id"],
                    "outbound",
                    fr,
                    f"[{e['reference']}] Final response",
                    "Having reviewed your complaint afresh, we uphold a full refund.",
                    author=rev["login"],
                    cust=cust,
                    template="final_response",
                    delivery="sent",
                )
                self.bump(e, rev["login"], fr)
                complaint["status"], complaint["close_reason"], complaint["closed_at"] = (
                    "closed",
                    CloseReason.FINAL_RESPONSE.value,
                    fr,
                )
                self.event(
                    complaint["id"],
                    fr,
                    None,
                    "closed",
                    "escalated",
                    "closed",
                    reason="final_response",
                    escalation=e["reference"],
                )
        complaint["due_at"] = complaint["due_clock"] = None
        self.finish(e)

    def _handlers(self, tid: int) -> set[str]:
        # events of the complaint were appended just now, at the end of the list
        out: set[str] = set()
        for ev in reversed(self.events):
            if ev["ticket_id"] != tid:
                if len(out) and ev["ticket_id"] < tid:
                    break
                continue
            if ev["actor"]:
                out.add(ev["actor"])
        return out

    # -- refunds -----------------------------------------------------------
    def refund(self, decide) -> None:
        rng, cal = self.rng, self.cal
        status = rng.choices(["submitted", "under_review", "decided", "processing", "closed"], [10, 25, 12, 13, 40])[0]
        ctype = rng.choices(["end_user", "business", "end_customer"], [85, 9, 6])[0]
        cust = self.customer(ctype)
        received = (
            self.past(6, 0.02)
            if status in ("submitted", "under_review")
            else (self.past(10, 1) if status != "closed" else self.past(90, 12))
        )
        purchased = received - timedelta(days=rng.choice([0.3, 1, 2, 3, 5, 6.5, 8, 12, 25, 40]))
        order = self.order(cust, purchased)
        t = self.base(TicketKind.REFUND, received, cust, f"Refund Request {order['number']}", order)
        tid = t["id"]
        t["review_due_at"] = clock_due(cal, Clock.REFUND_REVIEW, received)
        t["ack_due_at"] = clock_due(cal, Clock.REFUND_ACK, received)  # esimium 4.2: 24 hours
        if (
            status != "submitted" or tid % 3
        ):  # most requests were acknowledged at intake (no rng: the rest of the desk stays as it was)
            t["acknowledged_at"] = received + timedelta(minutes=tid % 7)
        reason = rng.choice(REFUND_REASONS)
        t["description"] = f"Please refund order {order['number']}: {reason.replace('_', ' ')}."
        self.event(tid, received, None, "created", None, "submitted", source="email")
        self.message(tid, "inbound", received, t["subject"], t["description"], cust=cust)
        facts = {
            "purchase_at": purchased.isoformat(),
            "request_at": received.isoformat(),
            "amount_paid": order["amount"],
            "currency": order["currency"],
            "reason": reason,
            "payment_method": order["payment_method"],
            "customer_type": ctype,
            "quantity": order["quantity"],
            "delivered_at": order["delivered_at"].isoformat() if order["delivered_at"] else None,
            "installed": order["installed"],
            "activated": order["activated"],
            "data_used_mb": order["data_used_mb"],
            "provider_fault_confirmed": rng.choice([True, False, None]),
            "instructions_followed": rng.choice([True, None]),
            "troubleshooting_completed": rng.choice([True, False, None]),
            "documentation_provided": rng.choice([True, None]),
            "chargeback_filed": tid % 97 == 0,
        }
        case = {
            "ticket_id": tid,
            "policy": order["brand"],
            "policy_version": None,
            "facts": json.dumps(facts),
            "decision": None,
            "outcome": None,
            "max_refund": None,
            "currency": order["currency"],
            "refund_method": None,
            "alternative": None,
            "chargeback_filed": facts["chargeback_filed"],
            "approved_at": None,
            "initiated_due_at": None,
            "initiated_at": None,
            "sent_to_processor_at": None,
            "expected_in_account_at": None,
            "completed_at": None,
            "approved_amount": None,
            "processing_fee": None,
            "investigation_by": None,
            "investigation_at": None,
            "investigation_result": None,
            "investigation_note": None,
            "decision_sent_at": None,
        }
        agent = rng.choice(self.agents)
        if status != "submitted":
            at = self.later(received, 0.2, 6)
            t["assignee_id"] = agent["id"]
            t["status"] = "under_review"
            self.event(tid, at, agent["login"], "status", "submitted", "under_review")
            self.bump(t, agent["login"], at)
            if status == "under_review" and rng.random() < 0.25:
                p = self.later(at, 0.5, 12)
                t["paused_since"] = p
                self.event(tid, p, agent["login"], "pause", reason="asked the customer for a screenshot of the error")
                self.message(
                    tid,
                    "outbound",
                    p,
                    f"[{t['reference']}] We need a little more information",
                    "Please send a screenshot of the error message.",
                    author=agent["login"],
                    cust=cust,
                    template="information_request",
                    delivery="sent",
                )
        if status in ("decided", "processing", "closed"):
            decision = decide(order["brand"], facts)
            dat = self.later(received, 3, 60)
            t["decided_at"] = dat
            case.update(
                decision=json.dumps(decision),
                outcome=decision["outcome"],
                policy_version=decision["policy_version"],
                max_refund=decision["max_refund"],
                refund_method=decision["refund_method"],
            )
            self.event(
                tid,
                dat,
                agent["login"],
                "decided",
                "under_review",
                "decided",
                outcome=decision["outcome"],
                sections=decision["sections"],
            )
            t["status"] = "decided"
            self.bump(t, agent["login"], dat)
            approved = decision["outcome"] in ("full_refund", "partial_refund")
            if approved:
                case["approved_at"] = dat
                case["initiated_due_at"] = clock_due(cal, Clock.REFUND_INITIATION, dat)
            if status == "decided" and approved:
                t["due_clock"] = Clock.REFUND_INITIATION.value
                t["due_at"] = case["initiated_due_at"]
            elif status == "decided":  # the decision still to be communicated, by the review deadline
                t["due_clock"] = Clock.REFUND_DECISION.value
                t["due_at"] = t["review_due_at"]
            # the times after the decision come from the ticket's own generator, so a change in the
            # engine's outcomes never shifts the rest of the demo desk
            after = random.Random(tid)
            if status in ("processing", "closed") and approved:
                ini = min(dat + timedelta(hours=after.uniform(2, 40)), self.now - timedelta(minutes=1)).replace(
                    microsecond=0
                )
                case["initiated_at"] = ini
                case["expected_in_account_at"] = refund_in_account_due(cal, order["brand"], dat)
                case["decision_sent_at"] = dat
                t["due_clock"] = Clock.REFUND_IN_ACCOUNT.value  # the money on its way
                t["due_at"] = case["expected_in_account_at"]
                t["status"] = "processing"
                self.event(tid, ini, agent["login"], "status", "decided", "processing", milestone="initiated")
                self.bump(t, agent["login"], ini)
            if status == "closed" or (status == "processing" and not approved):
                end = min(dat + timedelta(hours=after.uniform(24, 200)), self.now - timedelta(minutes=1)).replace(
                    microsecond=0
                )
                reason_ = {"refer": CloseReason.REFERRED, "denied": CloseReason.REFUND_DENIED}.get(
                    decision["outcome"], CloseReason.REFUND_COMPLETED
                )
                t["status"], t["close_reason"], t["closed_at"] = "closed", reason_.value, end
                if approved:
                    case["completed_at"] = end
                self.event(tid, end, agent["login"], "closed", None, "closed", reason=reason_.value)
                self.bump(t, agent["login"], end)
        self.refunds.append(case)
        self.finish(t)  # every open refund carries a clock (issue 17)

    # -- inquiries ---------------------------------------------------------
    def inquiry(self) -> None:
        rng = self.rng
        cust = self.customer()
        kind = rng.choices(["open", "oos", "answered"], [35, 50, 15])[0]
        received = self.past(5, 0.02) if kind == "open" else self.past(60, 1)
        cat = rng.choice(list(OutOfScope))
        subject = OOS_SUBJECT[cat] if kind == "oos" else rng.choice(INQUIRY_SUBJECTS)
        t = self.base(TicketKind.INQUIRY, received, cust, subject, None)
        tid = t["id"]
        t["description"] = subject + "?"
        self.event(tid, received, None, "created", None, "submitted", source="email")
        self.message(tid, "inbound", received, subject, t["description"], cust=cust)
        agent = rng.choice(self.agents)
        if kind == "open":  # awaiting triage: the desk answers within 2 business days
            t["ack_due_at"] = clock_due(self.cal, Clock.ACKNOWLEDGMENT, received)
        if kind == "oos":
            at = self.later(received, 0.5, 30)
            t["status"], t["out_of_scope"], t["close_reason"], t["closed_at"] = (
                "closed",
                cat.value,
                CloseReason.OUT_OF_SCOPE.value,
                at,
            )
            self.event(tid, at, agent["login"], "triaged", "submitted", "closed", category=cat.value)
            self.message(
                tid,
                "outbound",
                at,
                f"[{t['reference']}] Where to get help",
                "This is outside our complaint process; here is where to go instead.",
                author=agent["login"],
                cust=cust,
                template="out_of_scope_redirect",
                delivery="sent",
            )
            self.bump(t, agent["login"], at)
        elif kind == "answered":
            at = self.later(received, 0.5, 30)
            t["status"], t["close_reason"], t["closed_at"] = "closed", CloseReason.ANSWERED.value, at
            self.event(tid, at, agent["login"], "closed", "submitted", "closed", reason="answered")
            self.bump(t, agent["login"], at)
        self.finish(t)

    def quarantined(self, count: int) -> None:
        samples = [
            (b"Subject: =?utf-8?b?invalid\r\n\r\n\x1b[2Jhello", "no From address"),
            (b"From: \r\nSubject: [bold]Complaint[/bold]\r\n\r\n\x1b]52;c;cHduZWQ=\x07", "no From address"),
            (b"\xff\xfe\x00garbage\x00\x00", "not an email message (no headers)"),
        ]
        for i in range(count):
            raw, reason = samples[i % len(samples)]
            at = self.past(10)
            self.quarantine.append(
                {
                    "received_at": at,
                    "source": f"demo/mail/{i}.eml",
                    "message_id": None,
                    "dedupe_key": f"demo-q-{i}",
                    "reason": reason,
                    "raw": raw,
                    "state": "held",
                    "resolved_by": None,
                    "resolved_at": None,
                    "ticket_id": None,
                }
            )


def build_demo(
    session: Session, tickets: int, seed: int, now: datetime, cal: BusinessCalendar, login: str | None = None
) -> DemoResult:
    """Fill an empty desk. `now` anchors every generated instant."""
    import time

    from app.refunds import decide

    if tickets < 1:
        raise InputError("--tickets must be at least 1")
    existing = session.scalar(select(func.count()).select_from(Ticket)) or 0
    if existing:
        raise InputError(f"the desk already has {existing} tickets; the demo fills an empty desk (use a new --db)")
    if session.scalar(select(func.count()).select_from(Staff)):
        raise InputError("the desk already has staff; the demo fills an empty desk (use a new --db)")
    started = time.perf_counter()
    now = _aware(now).replace(microsecond=0)
    b = _Builder(tickets, seed, now, cal, login or os_login())
    b.build_staff()
    plans = [p for p, _ in COMPLAINT_MIX]
    weights = [w for _, w in COMPLAINT_MIX]
    rng = b.rng
    memo: dict[str, dict] = {}

    def cached_decide(policy: str, facts: dict) -> dict:
        key = policy + json.dumps(facts, sort_keys=True, default=str)
        if key not in memo:
            memo[key] = decide(policy, facts)
        return memo[key]

    while len(b.tickets) < tickets:
        r = rng.random()
        room = tickets - len(b.tickets)
        if r < 0.52:
            plan = rng.choices(plans, weights)[0]
            if room < 2 and plan in ("escalated", "closed_final"):
                plan = "investigation"
            b.complaint(plan)
        elif r < 0.80:
            b.refund(cached_decide)
        else:
            b.inquiry()
    b.quarantined(max(3, tickets // 500))
    conn = session.connection()

    def store(*pairs) -> None:
        for model, rows in pairs:
            for i in range(0, len(rows), 10000):
                conn.execute(insert(table_of(model)), rows[i : i + 10000])

    store((Staff, b.staff), (Customer, b.customers))
    _import_orders(conn, b, now)  # the shop's orders arrive the way a real desk's do
    store(
        (Ticket, b.tickets),
        (TicketEvent, b.events),
        (Message, b.messages),
        (RefundCase, b.refunds),
        (Quarantine, b.quarantine),
    )
    conn.execute(
        insert(table_of(ReferenceCounter)), [{"prefix": p, "year": y, "last": n} for (p, y), n in b.counters.items()]
    )
    conn.execute(
        insert(table_of(DeskSetting)),
        [
            {"key": "demo", "value": "true"},
            {"key": "demo_seed", "value": str(seed)},
            {"key": "demo_now", "value": now.isoformat()},
        ],
    )
    counts: dict[str, int] = {}
    for t in b.tickets:
        counts[t["kind"]] = counts.get(t["kind"], 0) + 1
    return DemoResult(tickets=len(b.tickets), counts=counts, seconds=time.perf_counter() - started)


def order_file_rows(b: _Builder) -> list[dict]:
    """The generated orders as the shop exports them (the shared orders contract)."""
    by_id = {c["id"]: c for c in b.customers}
    out = []
    for o in b.orders:
        c = by_id[o["customer_id"]]
        out.append(
            {
                "order_number": o["number"],
                "policy": o["brand"],
                "customer_email": c["email"],
                "purchase_at": o["purchased_at"].isoformat(),
                "amount_paid": o["amount"],
                "currency": o["currency"],
                "payment_method": o["payment_method"],
                "customer_type": c["customer_type"],
                "quantity": o["quantity"],
                "product": o["plan"],
                "delivered_at": o["delivered_at"].isoformat() if o["delivered_at"] else None,
                "installed": o["installed"],
                "activated": o["activated"],
                "data_used_mb": o["data_used_mb"],
                # no validity_ends_at: the demo's refund cases were decided without a validity fact
            }
        )
    return out


def _import_orders(conn, b: _Builder, now: datetime) -> None:
    """Write the generated orders to a JSONL file and import it
    (app.orders.importer); the tickets then point at the stored ids."""
    import tempfile
    from pathlib import Path

    from app.orders.importer import import_orders

    with tempfile.TemporaryDirectory(prefix="esimdesk-demo-") as tmp:
        path = Path(tmp) / "demo-orders.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in order_file_rows(b):
                fh.write(json.dumps(row) + "\n")
        summary = import_orders(conn, [str(path)], now=now)
    if summary.rejected:
        raise AssertionError(f"demo orders rejected: {summary.errors[:3]}")
    ids = dict(conn.execute(select(table_of(Order).c.number, table_of(Order).c.id)).all())
    number_of = {o["id"]: o["number"] for o in b.orders}
    for t in b.tickets:
        if t["order_id"] is not None:
            t["order_id"] = ids[number_of[t["order_id"]]]
