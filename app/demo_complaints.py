"""The demo's complaint stories and their escalations (app/demo.py): each
drawn step by step, the order of the random draws keeping a seed's desk the same."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.demo_builder import DemoBuilder
from app.demo_data import COMPLAINT_SUBJECTS, STEP_ORDER, SUBJECT_REGION, DemoRow
from app.sla_clocks import clock_due
from app.workflow.templates import customer_date
from models.enums import (
    Clock,
    CloseReason,
    Region,
    TicketKind,
)


class ComplaintStories(DemoBuilder):
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
        t["region"] = rng.choice(list(Region)).value  # drawn always: the rest of the demo stays as it was
        t["region"] = SUBJECT_REGION.get(subject, t["region"])
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
        ack = self._acknowledge(t, cust, agent, at)
        last = self._steps(t, cust, agent, plan, ack, open_)
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
            self._extend(t, cust, last)
        if plan == "closed_accepted":
            at = self.later(last, 2, 96)
            self.close(t, agent["login"], at, "resolution_communicated", CloseReason.ACCEPTED)
        self.finish(t)
        if plan in ("escalated", "closed_final"):
            self.escalation(t, cust, last, closed=plan == "closed_final")

    def _acknowledge(self, t: DemoRow, cust: DemoRow, agent: DemoRow, assigned: datetime) -> datetime:
        """The acknowledgment (mostly on time, a few late) and its mail; returns when."""
        rng, cal, tid, received, at = self.rng, self.cal, t["id"], t["received_at"], assigned
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
            f"Your complaint reference is {t['reference']}. We will resolve it by the end of {customer_date(self.cal, t['resolution_due_at'])}.",
            author=agent["login"],
            cust=cust,
            template="acknowledgment",
            delivery="sent" if tid % 41 else "failed",
        )
        self.bump(t, agent["login"], ack)
        return ack

    def _steps(self, t: DemoRow, cust: DemoRow, agent: DemoRow, plan: str, ack: datetime, open_: bool) -> datetime:
        """The workflow steps up to the plan's, each a while after the last; returns the last step's time."""
        rng, tid = self.rng, t["id"]
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
        return last

    def _extend(self, t: DemoRow, cust: DemoRow, last: datetime) -> None:
        """An extension of a complex complaint, with its progress mail."""
        cal, tid = self.cal, t["id"]
        old = t["resolution_due_at"]
        new = cal.due_at(old, 5)
        at = self.later(last, 0.5, 10)
        t["resolution_due_at"] = new
        t["extensions"] = 1
        self.event(tid, at, "olivia", "extend", reason="awaiting the network operator's report", before=old, after=new)
        self.message(
            tid,
            "outbound",
            at,
            f"[{t['reference']}] Progress update",
            f"We need more time; we now expect to resolve it by the end of {customer_date(cal, new)}.",
            author="olivia",
            cust=cust,
            template="progress_update",
            delivery="sent",
        )
        self.bump(t, "olivia", at)

    def escalation(self, complaint: DemoRow, cust: DemoRow, communicated: datetime, closed: bool) -> None:
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
        handed: list[DemoRow | None] = self.events  # type: ignore[assignment]  # None: handed over
        for ev in reversed(handed):
            if ev is None:  # handed over (app/demo_pipeline.py): older stories
                break
            if ev["ticket_id"] != tid:
                if len(out) and ev["ticket_id"] < tid:
                    break
                continue
            if ev["actor"]:
                out.add(ev["actor"])
        return out
