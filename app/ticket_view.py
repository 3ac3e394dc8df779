"""The ticket view: everything the ticket detail screen shows, read in one
pass (a read model: the screen holds no SQL and no rule)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app import clocks, labels
from app.config import DeskConfig
from app.errors import DeskError
from app.failures import as_desk_error
from app.ticket_facts import TicketFacts, ticket_facts
from app.untrusted import inert
from app.workflow.messages import TIMELINE_PREVIEW_CHARS
from models import Ticket, stored_id
from models.enums import TicketKind

if TYPE_CHECKING:
    from app.customer_story import CustomerStory
    from app.db import Desk
    from app.identity import Actor
    from app.mail.attachments import AttachmentInfo
    from app.workflow.messages import TimelineItem


@dataclass
class DetailData:
    """Everything the screen shows, read in one worker pass (detached)."""

    ticket: Ticket
    customer: str = ""
    customer_lines: list[str] = field(default_factory=list)
    order_lines: list[str] = field(default_factory=list)
    evidence_lines: list[str] = field(default_factory=list)  # attachments, names inert
    assignee: str | None = None
    reviewer: str | None = None
    timeline: list[TimelineItem] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    guidance: str = ""
    related: list[str] = field(default_factory=list)
    story: CustomerStory | None = None  # what the keys 1-9 open
    proposal: str | None = None
    close_reasons: list[str] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)
    staff: list[tuple[str, str]] = field(default_factory=list)
    reviewers: list[tuple[str, str]] = field(default_factory=list)
    why_not: dict[str, str] = field(default_factory=dict)  # action id -> why it is not offered now
    related_reference: str | None = None  # the complaint an escalation escalates
    redirected_from: str | None = None  # the reference asked for, when it was merged into this ticket
    merge_targets: list[tuple[str, str]] = field(default_factory=list)  # (reference, words): tickets this one may join

    def clocks(self, now: datetime, share: float = clocks.DEFAULT_AT_RISK_SHARE) -> list[clocks.ClockView]:
        """The header's clocks at `now` (app.clocks: every clock the ticket has started)."""
        return clocks.ticket_clocks(self.ticket, now, share)


def why_not(session: Session, t: Ticket, actor: Actor, offered: list[str], action_ids: Iterable[str]) -> dict[str, str]:
    """For each of `action_ids` not offered now, one line saying why (shown
    when its key is pressed)."""
    status = labels.status(t.status)
    out: dict[str, str] = {}
    for name in action_ids:
        if name in offered:
            continue
        if not actor.can("work_tickets") and name not in ("take_review", "triage"):
            out[name] = f"your role ({actor.role}) does not work on tickets"
        elif t.status == "closed":
            out[name] = "the ticket is closed"
        elif name == "take_review":
            if t.kind != TicketKind.ESCALATION:
                out[name] = "only an escalation has a review to take"
            elif t.reviewer_id is not None:
                out[name] = "the review is already taken"
            elif not actor.can("review_escalations"):
                out[name] = "only a senior reviews escalations"
            else:
                from app.workflow.escalations import ineligibility

                reason = ineligibility(session, t, actor)
                if reason is None:
                    out[name] = "not possible now"
                else:
                    out[name] = "you handled this complaint" if reason.code == "handled" else str(reason)
        elif name == "refund_wizard" and t.kind != TicketKind.REFUND:
            out[name] = "only refund requests have a refund wizard"
        elif name == "final_response" and t.kind == TicketKind.ESCALATION and t.reviewer_id != actor.id:
            out[name] = "only the escalation's reviewer gives the final response"
        elif name == "triage" and not actor.can("triage"):
            out[name] = f"your role ({actor.role}) does not triage"
        else:
            out[name] = f"not a next step for a {labels.kind(t.kind)} that is {status}"
    return out


def load_detail(
    session: Session,
    reference: str,
    actor: Actor,
    config: DeskConfig | None = None,
    action_ids: Iterable[str] | None = None,
) -> DetailData:
    """Read the ticket and all it shows (the desk's time zone from `config` for
    the instants in the timeline's and order's text; `action_ids`: the actions
    that get a reason when not offered now, by default every ticket action)."""
    config = config or DeskConfig()
    tz = config.calendar.timezone
    from app import tickets
    from app.customer_story import customer_story
    from app.mail.attachments import list_attachments
    from app.workflow import next_actions, states, timeline
    from app.workflow.actions import ACTIONS
    from app.workflow.complaints import latest_proposal
    from app.workflow.escalations import eligible_reviewers
    from app.workflow.regions import guidance, label

    t = tickets.resolve(session, reference)  # a merged ticket's reference leads to the one it joined
    data = DetailData(ticket=t)
    if t.reference != reference.strip().upper():
        data.redirected_from = reference.strip().upper()
    facts = ticket_facts(session, t)  # the same facts `esimdesk ticket show` starts from
    _customer_and_order(facts, data, tz)
    tid = stored_id(t)
    data.evidence_lines = evidence_lines(list_attachments(session, tid), t.reference)
    data.assignee, data.reviewer = facts.assignee, facts.reviewer
    data.timeline = timeline(session, tid, tz=tz, body_limit=TIMELINE_PREVIEW_CHARS)
    data.actions = acts = list(next_actions(t, actor, session))
    data.why_not = why_not(session, t, actor, acts, ACTIONS if action_ids is None else action_ids)
    if t.region:
        try:
            data.guidance = guidance(t.region)
        except DeskError:
            data.guidance = ""
    if t.escalation_of_id:  # both ends of an escalation are also listed (and opened) by the story below
        orig = facts.escalation_of
        if orig is not None:
            data.related_reference = orig.reference
            data.related.append(f"escalation of {orig.reference} ({labels.status(orig.status)}) · C opens it")
            prop = latest_proposal(session, orig)
            if prop:
                data.related.append("original resolution: " + inert(prop, limit=400, single_line=True))
    merged = merge_lines(session, t, data, actor, facts.merged_from)
    data.story = customer_story(session, t, shown_order_id=t.order_id)
    data.related += merged
    if t.region:
        try:
            data.related.append(f"region: {label(t.region)}")
        except Exception:  # noqa: BLE001 - an unknown stored region is shown raw
            data.related.append(f"region: {inert(t.region, single_line=True)}")
    if t.kind == TicketKind.COMPLAINT:
        data.proposal = latest_proposal(session, t)
    service_only = set(states.SERVICE_ONLY_REASONS)
    data.close_reasons = [r for r in states.CLOSE_REASONS.get(t.kind, {}).get(t.status, ()) if r not in service_only]
    if "reply" in acts:  # only what fits the ticket's state, filled strictly by the workflow
        from app.workflow.outbox import reply_templates

        data.templates = reply_templates(session, t, config)
    if "assign" in acts:
        if t.kind == TicketKind.ESCALATION:
            data.reviewers = [(s.login, f"{s.login} — {s.name}") for s in eligible_reviewers(session, t)]
        else:
            from app.staff import assignable

            data.staff = assignable(session)
    session.expunge(t)
    return data


def _customer_and_order(facts: TicketFacts, data: DetailData, tz: str | None) -> None:
    """The Customer and Order sections (customer text inert; instants in the desk's time zone)."""
    c = facts.customer
    if c is not None:
        data.customer = c.name or c.email or "customer"
        data.customer_lines = [
            f"name: {inert(c.name, limit=120, single_line=True) or '—'}",
            f"email: {inert(c.email, limit=120, single_line=True)}",
            f"phone: {inert(c.phone, limit=64, single_line=True) or '—'}",
            f"type: {labels.customer_type(c.customer_type)}",
        ]
    o = facts.order
    if o is not None:
        data.order_lines = [
            f"{o.number}  ({o.brand})",
            f"{inert(o.plan, single_line=True) or 'plan ?'} · {o.amount} {o.currency} · {o.payment_method.replace('_', ' ')}",
            f"bought {labels.local_time(o.purchased_at, tz or 'UTC')}{'' if tz else ' UTC'} · installed {'yes' if o.installed else 'no'} · "
            f"activated {'yes' if o.activated else 'no'} · {o.data_used_mb:g} MB used",
        ]


def read_detail(
    desk: Desk, reference: str, actor: Actor, config: DeskConfig | None = None
) -> tuple[DetailData | None, str | None]:
    """`load_detail` in a read transaction of its own (the console's workers):
    (the view, None), or (None, why not) when the desk refuses it."""
    try:
        with desk.reader() as s:
            return load_detail(s, reference, actor, config), None
    except (DeskError, SQLAlchemyError) as exc:  # a refusal, or the database failed under the read
        return None, str(as_desk_error(exc, desk.url))


def merge_lines(session: Session, t: Ticket, data: DetailData, actor: Actor, merged: list[str]) -> list[str]:
    """The Related lines about merges (which references lead here), and the
    tickets this one may be merged into (`data.merge_targets`): with any, the
    merge action is offered (last); without, its key says why."""
    from app.workflow.actions import BY_ID
    from app.workflow.merge import candidates

    lines = []
    if data.redirected_from:
        lines.append(f"{data.redirected_from} was merged into this ticket")
    here = [r for r in merged if r != data.redirected_from]
    if here:
        lines.append(("also merged here: " if data.redirected_from else "merged here: ") + ", ".join(here))
    action = BY_ID["merge"]  # not a workflow step (app.workflow.actions): offered when it has a target
    if not action.offered(t, actor, session):
        return lines
    data.merge_targets = [
        (
            c.reference,
            f"{c.reference} · {labels.kind(c.kind)} · {labels.status(c.status)} · "
            f"{inert(c.subject, limit=48, single_line=True) or 'no subject'}",
        )
        for c in candidates(session, t, actor)
    ]
    if data.merge_targets:
        data.actions.append("merge")
        data.why_not.pop("merge", None)
    else:
        data.why_not["merge"] = action.none_left
    return lines


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def evidence_lines(attachments: Iterable[AttachmentInfo], reference: str) -> list[str]:
    """The Evidence section: one line per attachment (name inert, type, size;
    the bytes are never loaded here), and how to save one."""
    lines = [
        f"#{a.id} {inert(a.filename, limit=60, single_line=True) or 'unnamed'} · {inert(a.content_type, limit=40, single_line=True)}"
        f" · {_size(a.size)}{'' if a.stored else ' · too large, not stored'}"
        for a in attachments
    ]
    if lines:
        lines.append(f"save: esimdesk ticket attachment {reference} ID")
    return lines
