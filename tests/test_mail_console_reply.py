"""The console's reply prompt offers only the templates that fit the
ticket's state, filled strictly by the workflow, and what it sends carries
the configured desk name, one greeting and one signature."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import select

from app.config import DeskConfig, DeskIdentity
from app.workflow.outbox import reply_templates
from console_helpers import find_ticket, make_app, settle
from models import Message, Ticket

CONFIG = replace(DeskConfig(), desk=DeskIdentity(name="Pilot eSIM Desk"))


def _offers(desk, **where) -> dict[str, str]:
    t = find_ticket(desk, **where)
    with desk.reader() as s:
        return reply_templates(s, s.get(Ticket, t.id), CONFIG)


def test_offers_fit_the_state_and_are_filled(demo_desk):
    ack = _offers(demo_desk, kind="complaint", status="investigation")
    assert set(ack) == {"acknowledgment", "escalation_not_possible"}
    assert "Pilot eSIM Desk" in ack["acknowledgment"]
    assert 'the stage "Internal Investigation"' in ack["escalation_not_possible"]  # the policy's step, not a state name
    assert _offers(demo_desk, kind="complaint", status="submitted") == {}
    assert set(_offers(demo_desk, kind="escalation", status="in_review")) == {"escalation_acknowledgment"}
    assert _offers(demo_desk, kind="inquiry", status="submitted") == {}
    for offers in (ack, _offers(demo_desk, kind="escalation", status="in_review")):
        for name, text in offers.items():
            assert "$" not in text and "Dear" not in text and "regards" not in text, name
            assert "progress_update" not in offers and "final_response" not in offers


async def test_a_template_reply_from_the_console_is_greeted_and_signed_once(demo_desk):
    t = find_ticket(demo_desk, kind="complaint", status="investigation")
    app = make_app(demo_desk, "olivia", CONFIG)
    with demo_desk.reader() as s:
        before = s.exec(select(Message.id).where(Message.kind == "outbound")).all()
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *list(t.reference))
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert set(app.screen.data.templates) == {"acknowledgment", "escalation_not_possible"}
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+t", "enter", "ctrl+s")  # the first template fills the text; send
        await settle(pilot)
        await pilot.press("enter")  # the mail is previewed first: enter queues it
        await settle(pilot)
    with demo_desk.reader() as s:
        sent = s.exec(
            select(Message.template, Message.body).where(Message.kind == "outbound", Message.id.not_in(before))
        ).all()
    assert len(sent) == 1
    template, body = sent[0]
    assert template == "reply" and "$" not in body and body.count("Dear ") == 1
    assert (
        "Pilot eSIM Desk" in body
        and body.rstrip().endswith("Kind regards,\nPilot eSIM Desk")
        and body.count("Kind regards") == 1
    )
