"""Issue 20, points 3 and 4 in the console: unread markers per person, the
Replied view's key, the new-mail notice, and tagged rows worked in bulk
(one confirmation, each ticket through its own service, every result
listed, refusals included). Keys go in bursts, with no pauses."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from conftest import FROZEN_NOW
from console_helpers import make_app, reload_ticket, screen_text, settle
from typing_helpers import burst


def tickets_where(desk, n: int = 1, **where):
    """The first `n` demo tickets matching `where` (detached), in id order."""
    from models import Ticket

    with desk.reader() as s:
        stmt = select(Ticket)
        for k, v in where.items():
            stmt = stmt.where(getattr(Ticket, k) == v)
        rows = list(s.exec(stmt.order_by(Ticket.id).limit(n)))
        for t in rows:
            s.expunge(t)
    assert len(rows) == n, where
    return rows


def customer_writes(desk, reference: str, body: str = "Any news? It still does not work.", minutes: int = 1) -> None:
    """The customer's mail on `reference` comes in (the service intake calls)."""
    from app.workflow import customer_replied
    from models import Message

    at = FROZEN_NOW + timedelta(minutes=minutes)
    with desk.session() as s:
        customer_replied(
            s, reference, message=Message(from_addr="customer@example.com", body=body, created_at=at), now=at
        )


def note_by(desk, login: str, reference: str, text: str = "Checked with the carrier.", minutes: int = 0) -> None:
    from app.identity import resolve_actor
    from app.workflow import add_note

    with desk.session() as s:
        add_note(s, resolve_actor(s, login), reference, text, now=FROZEN_NOW + timedelta(minutes=minutes))


def tag_refs(*refs: str) -> list[str]:
    """Keys tagging each ticket by its reference: filter, first match, t, clear the filter."""
    keys: list[str] = []
    for ref in refs:
        keys += ["/", ref, "enter", "t", "escape"]
    return keys


def queue(app):
    from screens.queue import QueueScreen

    return next(s for s in app.screen_stack if isinstance(s, QueueScreen))


# -- the bindings ------------------------------------------------------------------------
def test_tag_keys_are_free_on_the_queue():
    """t, T, space, ;, A, n, c, ctrl+t and 0 mean one thing each on the queue
    (screen, table and app bindings together); space no longer pages."""
    from app.console import EsimdeskApp
    from screens.queue import QueueScreen
    from widgets.ticket_table import TicketTable

    seen: dict[str, str] = {}
    for cls in (TicketTable, QueueScreen, EsimdeskApp):
        for b in cls.BINDINGS:
            for key in b.key.split(","):
                assert seen.setdefault(key, b.action) == b.action, f"{key} is bound twice"
    for key, action in {
        "t": "tag",
        "space": "tag",
        "T": "tag_matching",
        "ctrl+t": "untag_all",
        "semicolon": "bulk",
        "A": "bulk('assign')",
        "n": "bulk('note')",
        "c": "bulk('close')",
        "0": "view('replied')",
    }.items():
        assert seen[key] == action


def test_new_binding_ids_are_remappable():
    from app.cli.keymap import binding_ids

    assert {
        "tag",
        "tag_space",
        "tag_matching",
        "untag_all",
        "bulk",
        "bulk_assign",
        "bulk_note",
        "bulk_close",
        "view_replied",
        "bulk_results_close",
    } <= binding_ids()


# -- tagging -----------------------------------------------------------------------------
async def test_t_and_space_toggle_and_move_on_ctrl_t_untags_all(demo_desk):
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        q = queue(app)
        first = [q.table.cache[i].reference for i in range(3)]
        await burst(pilot, "t", "space", "t", "up", "space")  # tag rows 0-2, back to row 2, untag it
        await settle(pilot)
        assert [t.reference for t in q.tagged.values()] == first[:2]
        assert q.table.cursor == 3
        text = screen_text(app)
        assert "✓ 2 tagged tickets" in text
        assert f"✓● {first[0]}" in text and f"✓● {first[1]}" in text and f" ● {first[2]}" in text
        await burst(pilot, "ctrl+t")
        await settle(pilot)
        assert not q.tagged and "tagged" not in screen_text(app)


async def test_T_tags_every_row_matching_the_filter_and_keys_behind_it_wait(demo_desk):
    from app.queue_query import QueueQuery, count

    with demo_desk.reader() as s:
        total = count(s, QueueQuery(view="all", text="INQ-"), FROZEN_NOW)
    assert total > 20  # more than a screenful at 80x24: T tags beyond what is shown
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await burst(pilot, "/", "INQ-", "enter", "T", ";")  # ; right behind T sees all the tags
        await settle(pilot)
        q = queue(app)
        assert len(q.tagged) == total
        assert all(t.reference.startswith("INQ-") for t in q.tagged.values())
        assert f"{total} tagged tickets: do what?" in screen_text(app)


# -- bulk actions ------------------------------------------------------------------------
async def test_bulk_close_one_confirmation_partial_refusal_listed(demo_desk):
    """Close as withdrawn: a complaint closes; a refund ticket is refused by
    the policy (its own workflow); a complaint a colleague changed after it
    was tagged is refused, not overwritten. Each is listed; the refused stay tagged."""
    ok, moved = tickets_where(demo_desk, 2, kind="complaint", status="acknowledged")
    [refund] = tickets_where(demo_desk, kind="refund", status="submitted")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, *tag_refs(ok.reference, refund.reference, moved.reference))
        await settle(pilot)
        q = queue(app)
        assert len(q.tagged) == 3
        note_by(demo_desk, "bob", moved.reference)  # someone else changes it after it was tagged
        # c, the third reason (withdrawn), the one confirmation: one burst
        await burst(pilot, "c", "down", "down", "enter")
        await settle(pilot)
        assert "Close 3 tagged tickets as “withdrawn by the customer”?" in screen_text(app)
        await burst(pilot, "enter")
        await settle(pilot)
        text = screen_text(app)
        assert "1 of 3 closed · 2 refused" in text
        assert f"✓ {ok.reference}  closed" in text
        assert f"✗ {refund.reference}  refused: is a refund ticket" in text
        assert f"✗ {moved.reference}  refused: changed by bob since you tagged it" in text
        assert reload_ticket(demo_desk, ok.reference).close_reason == "withdrawn"
        assert reload_ticket(demo_desk, refund.reference).status == "submitted"
        assert reload_ticket(demo_desk, moved.reference).status == "acknowledged"
        assert sorted(t.reference for t in q.tagged.values()) == sorted([refund.reference, moved.reference])
        await burst(pilot, "escape")
        await settle(pilot)
        assert app.screen is q and "✓ 2 tagged tickets" in screen_text(app)


async def test_keys_typed_during_the_run_wait_for_the_result_list(demo_desk):
    """escape typed right behind the confirming enter closes the result list
    (it waits for the run): it is neither lost nor spent on the queue first."""
    a, b = tickets_where(demo_desk, 2, kind="complaint", status="investigation")
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await burst(pilot, *tag_refs(a.reference, b.reference), "c", "down", "down", "enter", "enter", "escape")
        await settle(pilot)
        assert app.screen is queue(app) and not queue(app).tagged
    assert reload_ticket(demo_desk, a.reference).close_reason == "withdrawn"
    assert reload_ticket(demo_desk, b.reference).close_reason == "withdrawn"


async def test_bulk_assign_roles_enforced_by_the_service(demo_desk):
    """An agent may take an unassigned ticket, not one assigned to a colleague
    (reassigning is a supervisor's): the one refusal is shown."""
    [free] = tickets_where(demo_desk, kind="complaint", status="submitted", assignee_id=None)
    from app.identity import resolve_actor
    from models import Ticket

    with demo_desk.reader() as s:
        alice = resolve_actor(s, "alice")
        taken = s.exec(
            select(Ticket).where(
                Ticket.kind == "complaint",
                Ticket.status == "investigation",
                Ticket.assignee_id.is_not(None),
                Ticket.assignee_id != alice.id,
            )
        ).first()
        s.expunge(taken)
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        # A, the first choice (alice: logins in order), the one confirmation
        await burst(pilot, *tag_refs(free.reference, taken.reference), "A", "enter", "enter")
        await settle(pilot)
        text = screen_text(app)
        assert "1 of 2 assigned · 1 refused" in text
        assert f"✓ {free.reference}  assigned to alice" in text
        assert f"✗ {taken.reference}  refused:" in text
    assert reload_ticket(demo_desk, free.reference).assignee_id == alice.id
    assert reload_ticket(demo_desk, taken.reference).assignee_id == taken.assignee_id


async def test_bulk_note_through_the_menu(demo_desk):
    a, b = tickets_where(demo_desk, 2, kind="complaint", status="investigation")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(
            pilot,
            *tag_refs(a.reference, b.reference),
            ";",
            "down",
            "down",
            "enter",
            "Carrier outage in Tokyo; all affected.",
            "ctrl+s",
        )
        await settle(pilot)
        assert "“Carrier outage in Tokyo; all affected.”" in screen_text(app)  # the confirmation quotes it
        await burst(pilot, "enter")
        await settle(pilot)
        assert "2 of 2 noted" in screen_text(app)
    from models import Message

    with demo_desk.reader() as s:
        for t in (a, b):
            bodies = [m.body for m in s.exec(select(Message).where(Message.ticket_id == t.id, Message.kind == "note"))]
            assert "Carrier outage in Tokyo; all affected." in bodies


async def test_bulk_triage_through_the_menu_refuses_what_the_policy_forbids(demo_desk):
    [inquiry] = tickets_where(demo_desk, kind="inquiry", status="submitted")
    [complaint] = tickets_where(demo_desk, kind="complaint", status="investigation")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, *tag_refs(inquiry.reference, complaint.reference), ";", "down", "enter", "enter", "enter")
        await settle(pilot)
        text = screen_text(app)
        assert "1 of 2 triaged · 1 refused" in text
        assert f"✗ {complaint.reference}  refused:" in text
    assert reload_ticket(demo_desk, inquiry.reference).status == "closed"
    assert reload_ticket(demo_desk, complaint.reference).status == "investigation"


async def test_bulk_triage_previews_a_customers_mail_before_anything_is_queued(demo_desk):
    """The redirect each customer gets is shown as it will be queued, taken from
    the first tagged ticket the triage is not refused on; nothing is queued
    until the confirmation, and what is queued is what was shown."""
    from models import Customer, Message
    from screens.confirm import ConfirmScreen

    [complaint] = tickets_where(demo_desk, kind="complaint", status="investigation")  # refused: not out of scope
    [inquiry] = tickets_where(demo_desk, kind="inquiry", status="submitted")

    def outbound(t) -> list[str]:
        with demo_desk.reader() as s:
            rows = s.exec(select(Message).where(Message.ticket_id == t.id, Message.kind == "outbound"))
            return [m.body for m in rows]

    before = outbound(inquiry)
    with demo_desk.reader() as s:
        email = s.get(Customer, inquiry.customer_id).email
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, *tag_refs(complaint.reference, inquiry.reference), ";", "down", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        [mail] = app.screen.mails
        assert mail.reference == inquiry.reference and mail.to == email and "$" not in mail.body
        text = screen_text(app)
        assert f"Shown: the mail for {inquiry.reference}" in text and "back to editing" not in text
        assert outbound(inquiry) == before  # only shown
        await burst(pilot, "enter")
        await settle(pilot)
        assert "1 of 2 triaged · 1 refused" in screen_text(app)
    assert outbound(inquiry) == [*before, mail.body]


async def test_bulk_key_with_nothing_tagged_says_how_to_tag(demo_desk):
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await burst(pilot, "c")
        await settle(pilot)
        assert any("nothing is tagged" in n.message for n in app._notifications)
        assert app.screen is queue(app)


async def test_escape_at_the_confirmation_changes_nothing(demo_desk):
    [t] = tickets_where(demo_desk, kind="complaint", status="acknowledged")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, *tag_refs(t.reference), "c", "down", "down", "enter", "escape")
        await settle(pilot)
        assert app.screen is queue(app) and len(queue(app).tagged) == 1
    assert reload_ticket(demo_desk, t.reference).status == "acknowledged"


# -- new mail ------------------------------------------------------------------------------
async def test_unread_mark_per_person_cleared_when_that_person_opens_it(demo_desk):
    [t] = tickets_where(demo_desk, kind="complaint", status="acknowledged")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, "/", t.reference, "enter")
        await settle(pilot)
        assert f"● {t.reference}" in screen_text(app)
        await burst(pilot, "enter")
        await settle(pilot)
        assert app.screen.reference == t.reference
        await burst(pilot, "escape")
        await settle(pilot)
        text = screen_text(app)
        assert t.reference in text and f"● {t.reference}" not in text
    other = make_app(demo_desk, "bob")  # per person: still new to bob
    async with other.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, "/", t.reference, "enter")
        await settle(pilot)
        assert f"● {t.reference}" in screen_text(other)


async def test_zero_shows_the_replied_view(demo_desk):
    [t] = tickets_where(demo_desk, kind="complaint", status="investigation")
    customer_writes(demo_desk, t.reference, minutes=5)  # after the last staff action
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, "0")
        await settle(pilot)
        q = queue(app)
        assert q.view == "replied"
        text = screen_text(app)
        assert "Replied  ·  1 ticket" in text and t.reference in text


async def test_new_mail_on_my_ticket_raises_a_notice(demo_desk):
    from app.identity import resolve_actor

    with demo_desk.reader() as s:
        alice = resolve_actor(s, "alice")
    [mine] = tickets_where(demo_desk, kind="complaint", status="investigation", assignee_id=alice.id)
    from models import Ticket

    with demo_desk.reader() as s:
        theirs = s.exec(
            select(Ticket.reference).where(Ticket.kind == "complaint", Ticket.assignee_id != alice.id)
        ).first()
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await asyncio.sleep(1.3)  # the first poll notes where the mail stands
        await burst(pilot, "/", theirs, "enter", "enter")  # the notice comes wherever the person is
        await settle(pilot)
        assert app.screen.reference == theirs
        customer_writes(demo_desk, theirs, minutes=5)
        customer_writes(demo_desk, mine.reference, minutes=6)
        for _ in range(40):
            await pilot.pause(0.1)
            notes = [n.message for n in app._notifications]
            if notes:
                break
        assert notes == [f"new customer mail on {mine.reference}"]
        await burst(pilot, "escape", "/", mine.reference, "enter", "enter")  # the ticket open shows its mail itself
        await settle(pilot)
        assert app.screen.reference == mine.reference
        customer_writes(demo_desk, mine.reference, minutes=7)
        await asyncio.sleep(2.5)
        await settle(pilot)
        assert [n.message for n in app._notifications if n.title == "New mail"] == notes


async def test_help_and_palette_list_the_new_keys(demo_desk):
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, "?")
        await settle(pilot)
        text = screen_text(app)
        for words in (
            "0  Replied (the customer wrote last)",
            "t / space  Tag",
            "T  Tag every row matching",
            "^t  Untag all",
            ";  Act on the tagged tickets",
        ):
            assert words in text
        from screens.help import binding_rows

        rows = {words: key for key, words in binding_rows(queue(app))}
        assert rows["Assign the tagged tickets"] == "A" and rows["Note on the tagged tickets"] == "n"
        assert rows["Close the tagged tickets"] == "c"
        await burst(pilot, "escape")
        await settle(pilot)
        names = [c.title for c in app.get_system_commands(app.screen)]
        assert "Replied (the customer wrote last)" in names and "Act on the tagged tickets" in names
