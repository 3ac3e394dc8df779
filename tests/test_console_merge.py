"""Merging from the ticket detail (key J): the prompt offers the customer's
other open tickets, the confirmation names both tickets and the customer,
and afterwards a merged reference opens the ticket it joined (Pilot with keys
pressed without pauses, and snapshots at 160x50 and 80x24 on the frozen demo desk)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.config import DeskConfig
from app.workflow import create_complaint
from conftest import FROZEN_NOW
from console_helpers import make_app, open_by_filter, reload_ticket, screen_text, settle


def _pair(desk) -> dict:
    """Two complaints of one new customer: the first (A) and a second mail (B)."""
    refs = {}
    with desk.session() as s:
        for name, days, subject in (
            ("a", 2, "Complaint: eSIM [b]stopped[/b] in Tokyo"),
            ("b", 1, "Complaint again: no data"),
        ):
            refs[name] = create_complaint(
                s,
                received_at=FROZEN_NOW - timedelta(days=days),
                source="email",
                config=DeskConfig(),
                name="Kaisa Merila",
                subject=subject,
                email="kaisa.merila@example.com",
                phone="+372 5123 4567",
                description="My eSIM stopped working in Tokyo after one day; no data at all since.",
                incident_date="2026-11-19",
                region="southeast_asia",
            ).reference
    return refs


@pytest.fixture
def pair(demo_desk):
    return _pair(demo_desk)


async def test_merge_with_fast_keys_then_the_old_reference_opens_the_survivor(demo_desk, pair):
    a, b = pair["a"], pair["b"]
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_by_filter(pilot, b)
        assert app.screen.reference == b and "J Merge into…" in screen_text(app)
        await pilot.press("J", "enter", "enter")  # pick the offered ticket, confirm: no pauses
        await settle(pilot)
        assert reload_ticket(demo_desk, b).close_reason == "merged"
        assert app.screen.reference == a
        assert f"{b} was merged into this ticket" in screen_text(app)
        await pilot.press("escape", "escape")
        await settle(pilot)
        await open_by_filter(pilot, b)  # the old reference, typed in the filter, finds the survivor first
        assert app.screen.reference == a
        await pilot.press("escape")
        await settle(pilot)
        app.clear_notifications()
        app.open_ticket(b)  # as a search result, a linked item or a colleague's note would open it
        await settle(pilot)
        assert app.screen.reference == a
        assert f"{b} was merged into {a}" in " ".join(n.message for n in app._notifications)


async def test_the_prompt_offers_only_tickets_it_may_join(demo_desk, pair):
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_by_filter(pilot, pair["b"])
        await pilot.press("J")
        await settle(pilot)
        text = screen_text(app)
        assert f"{pair['b']}: merge into…" in text
        assert (
            f"{pair['a']} · complaint · new · Complaint: eSIM [b]stopped[/b] in Tokyo" in text
        )  # customer text never markup
        await pilot.press("escape")
        await settle(pilot)
        assert reload_ticket(demo_desk, pair["b"]).merged_into_id is None  # cancelled: nothing changed


async def test_a_ticket_with_no_partner_says_why(demo_desk):
    from sqlmodel import select

    from app import tickets
    from models import Ticket

    with demo_desk.reader() as s:  # a lone open complaint of a customer with no other open ticket
        for t in s.exec(
            select(Ticket).where(Ticket.kind == "complaint", Ticket.status == "submitted").order_by(Ticket.id)
        ):
            others = s.exec(
                select(Ticket).where(Ticket.customer_id == t.customer_id, Ticket.id != t.id, Ticket.status != "closed")
            ).first()
            if others is None:
                ref = tickets.get(s, t.reference).reference
                break
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_by_filter(pilot, ref)
        await pilot.press("J")
        await settle(pilot)
        assert app.screen.reference == ref
        assert "no other open ticket of this customer" in " ".join(n.message for n in app._notifications)


@pytest.mark.parametrize("size", [(160, 50), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("step", ["prompt", "confirm", "redirect"])
def test_snap_merge(snap_compare, demo_desk, pair, size, step):
    keys = {"prompt": ["J"], "confirm": ["J", "enter"], "redirect": ["J", "enter", "enter"]}[step]

    async def before(pilot):
        await open_by_filter(pilot, pair["b"])
        await pilot.press(*keys)
        await settle(pilot)
        if step == "redirect":
            await pilot.press("escape")
            await settle(pilot)
            pilot.app.open_ticket(pair["b"])  # the notice says where the reference led
            await settle(pilot)

    assert snap_compare(make_app(demo_desk, "olivia"), terminal_size=size, run_before=before)
