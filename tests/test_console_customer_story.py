"""The customer's whole story on the ticket: the read model, and the detail's
Linked section where the keys 1-9 open each ticket or order (Pilot and
snapshots at 160x50 and 80x24 on the frozen demo desk)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from app import labels
from app.config import DeskConfig
from app.customer_story import customer_story
from app.workflow import create_complaint
from conftest import FROZEN_NOW
from console_helpers import make_app, open_by_filter, screen_text, settle
from models import Customer, Order, Ticket


def _story_desk(desk) -> dict:
    """An escalated demo complaint whose customer also has a later complaint
    (about a second order) and a third order with no ticket."""
    with desk.session() as s:
        esc = s.exec(select(Ticket).where(Ticket.kind == "escalation").order_by(Ticket.id)).first()
        comp = s.get(Ticket, esc.escalation_of_id)
        cust = s.get(Customer, comp.customer_id)
        o2 = Order(
            number="ORD-2026110101-STRY",
            customer_id=cust.id,
            brand="esimium",
            purchased_at=FROZEN_NOW - timedelta(days=20),
            amount=Decimal("19.00"),
            plan="Japan 5 GB 30 days",
            delivered_at=FROZEN_NOW - timedelta(days=20),
            installed=True,
        )
        o3 = Order(
            number="ORD-2026111501-STRY",
            customer_id=cust.id,
            brand="esimium",
            purchased_at=FROZEN_NOW - timedelta(days=5),
            amount=Decimal("7.50"),
            plan="Estonia 1 GB \x1b[31m[b]7 days[/b]",
        )
        s.add_all([o2, o3])
        s.flush()
        other = create_complaint(
            s,
            received_at=FROZEN_NOW - timedelta(days=1),
            source="email",
            config=DeskConfig(),
            name=cust.name,
            email=cust.email,
            description="The Japan plan stopped after two days.",
            incident_date="2026-11-20",
            region="southeast_asia",
        ).reference
        s.get(Ticket, s.exec(select(Ticket.id).where(Ticket.reference == other)).one()).order_id = o2.id
        return {"complaint": comp.reference, "escalation": esc.reference, "other": other, "customer": cust.email}


@pytest.fixture
def story(demo_desk):
    return _story_desk(demo_desk)


def test_read_model_links_escalation_tickets_and_orders(demo_desk, story):
    from app import tickets

    with demo_desk.reader() as s:
        comp = tickets.get(s, story["complaint"])
        st = customer_story(s, comp, shown_order_id=comp.order_id)
        assert [(t.reference, t.relation) for t in st.tickets] == [
            (story["escalation"], "escalated_as"),
            (story["other"], "same_customer"),
        ]
        assert [o.number for o in st.orders][:2] == ["ORD-2026111501-STRY", "ORD-2026110101-STRY"]
        japan = next(o for o in st.orders if o.number == "ORD-2026110101-STRY")
        assert japan.state == "installed" and [t.reference for t in japan.tickets] == [story["other"]]
        esc = tickets.get(s, story["escalation"])
        back = customer_story(s, esc, shown_order_id=esc.order_id)
        assert back.tickets[0].reference == story["complaint"] and back.tickets[0].relation == "escalated_from"


async def test_keys_open_the_escalation_and_back_then_an_order(demo_desk, story):
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_by_filter(pilot, story["complaint"])
        text = screen_text(app)
        assert f"1 escalated as {story['escalation']}" in text
        assert (
            f"2 complaint {story['other']} · {labels.status('submitted')}" in text
        )  # the state in words, as everywhere
        assert "order ORD-2026111501-STRY · not delivered" in text
        assert "\x1b" not in text and "[b]7 days[/b]" in text  # customer text inert, never markup
        await pilot.press("1")
        await settle(pilot)
        assert app.screen.reference == story["escalation"]
        assert f"1 escalates {story['complaint']}" in screen_text(app)
        await pilot.press("1")  # and back to the complaint it escalates
        await settle(pilot)
        assert app.screen.reference == story["complaint"]
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert app.screen.reference == story["complaint"]
        n = next(line for line in screen_text(app).splitlines() if "ORD-2026110101-STRY" in line).split("ORD")[0]
        key = n.strip().split()[-2]  # "<key> order ORD-…"
        await pilot.press(key)
        await settle(pilot)
        assert "ORD-2026110101-STRY · installed" in screen_text(app)
        await pilot.press("enter")  # the one ticket about this order
        await settle(pilot)
        assert app.screen.reference == story["other"]


async def test_a_key_with_nothing_linked_does_nothing(demo_desk, story):
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_by_filter(pilot, story["other"])
        before = app.screen
        await pilot.press("9")
        await settle(pilot)
        assert app.screen is before and app.screen.reference == story["other"]


@pytest.mark.parametrize("size", [(160, 50), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snap_customer_story(snap_compare, demo_desk, story, size):
    async def before(pilot):
        await open_by_filter(pilot, story["complaint"])

    assert snap_compare(make_app(demo_desk, "olivia"), terminal_size=size, run_before=before)


def test_the_customer_type_says_what_an_end_customer_is(demo_desk):
    """The policy's end customer bought through a reseller; beside "end user"
    the bare words read as the same thing."""
    from sqlmodel import select

    from app.identity import resolve_actor
    from app.ticket_view import read_detail
    from models import Customer, Ticket

    with demo_desk.reader() as s:
        ref = s.exec(
            select(Ticket.reference)
            .join(Customer, Customer.id == Ticket.customer_id)
            .where(Customer.customer_type == "end_customer")
        ).first()
        actor = resolve_actor(s, "olivia")
    assert ref is not None
    data, why = read_detail(demo_desk, ref, actor)
    assert why is None and data is not None
    assert "type: end customer (via a reseller)" in data.customer_lines
    assert labels.customer_type("end_user") == "end user"


def test_linked_lines_name_kinds_and_desk_local_days_in_words():
    """The Linked section's words: a refund is a "refund request", and an
    order bought late in the UTC day shows the desk's own day, never an ISO date."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from app.customer_story import CustomerStory, LinkedTicket, OrderItem, story_lines

    late = datetime(2026, 11, 14, 22, 30, tzinfo=UTC)  # Sun 15 Nov 00:30 in Tallinn
    story = CustomerStory(
        tickets=(LinkedTicket("RFD-2026-000007", "refund", "decided", "Refund please", "same_customer"),),
        orders=(OrderItem("ORD-1", "Estonia 1 GB", "5.00", "EUR", late, "delivered", ()),),
    )
    lines = story_lines(story, ZoneInfo("Europe/Tallinn"))
    assert lines == [
        "1 refund request RFD-2026-000007 · decided · Refund please",
        "2 order ORD-1 · delivered · Estonia 1 GB · bought Sun 15 Nov 2026",
    ]
    assert story_lines(story, ZoneInfo("UTC"))[1].endswith("bought Sat 14 Nov 2026")
