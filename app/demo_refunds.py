"""The demo's refund, inquiry and quarantine stories (app/demo.py): each
drawn step by step, the order of the random draws keeping a seed's desk the same."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

from app.demo_builder import DemoBuilder
from app.demo_data import INQUIRY_SUBJECTS, OOS_SUBJECT, REFUND_REASONS, Decide, DemoRow
from app.sla_clocks import clock_due, refund_in_account_due
from models.enums import (
    Clock,
    CloseReason,
    OutOfScope,
    TicketKind,
)


class RefundStories(DemoBuilder):
    # -- refunds -----------------------------------------------------------
    def refund(self, decide: Decide) -> None:
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
        case = self._case_row(tid, order, facts)
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
            self._decided(t, case, status, decide(order["brand"], facts), order, agent)
        self.refunds.append(case)
        self.finish(t)  # every open refund carries a clock (issue 17)

    def _decided(
        self, t: DemoRow, case: DemoRow, status: str, decision: dict[str, Any], order: DemoRow, agent: DemoRow
    ) -> None:
        """The decision and what followed it (approval, initiation, closing),
        as far as the story's `status` goes."""
        cal, tid, received = self.cal, t["id"], t["received_at"]
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

    def _case_row(self, tid: int, order: DemoRow, facts: dict[str, Any]) -> DemoRow:
        """The refund case row of ticket `tid` (decided later, if at all)."""
        return {
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
            self.close(t, agent["login"], at, "submitted", CloseReason.ANSWERED)
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
