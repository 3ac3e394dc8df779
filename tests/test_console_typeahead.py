"""Type-ahead: keys sent in one burst (as tmux `send-keys -l`, a paste or a
laggy SSH link deliver them) all land, in order, in the widget focused once
the keys before them were handled; letters typed into an input never fire a
screen's one-letter actions; ctrl+s saves everything typed before it."""

from __future__ import annotations

import pytest
from sqlmodel import select

from console_helpers import make_app, reload_ticket, screen_text, settle
from typing_helpers import burst

SIZES = [(160, 50), (80, 24)]

# 400 characters full of the console's one-letter keys (q quits, ? help, M quarantine,
# E escalations, d dashboard, a acknowledge, c close, e escalate, w wizard, digits switch views)
NOTE = ("Mq? Called the carrier: dEaw cx 1-9 ok. Tokyo profile reissued, customer asked to retry; QR works now. ") * 5
NOTE = NOTE[:399] + "!"
assert len(NOTE) == 400


def _ids(size):
    return f"{size[0]}x{size[1]}"


def ticket_for(desk, login: str, action: str, **where):
    """A demo ticket on which `login` may take `action` now (detached)."""
    from app.identity import resolve_actor
    from app.workflow import next_actions
    from models import Ticket

    with desk.reader() as s:
        actor = resolve_actor(s, login)
        stmt = select(Ticket).order_by(Ticket.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(Ticket, k) == v)
        for t in s.exec(stmt):
            if action in next_actions(t, actor, s):
                s.expunge(t)
                return t
    raise AssertionError(f"no demo ticket where {login} may {action}")


def stored_bodies(desk, ticket_id: int) -> list[str]:
    from models import Message, Ticket

    with desk.reader() as s:
        ids = [ticket_id, *s.exec(select(Ticket.id).where(Ticket.escalation_of_id == ticket_id))]
        return [m.body or "" for m in s.exec(select(Message).where(Message.ticket_id.in_(ids)))]


async def open_fast(pilot, reference: str) -> None:
    """From the queue, in one burst: / reference enter enter."""
    await settle(pilot)
    await burst(pilot, "/", reference, "enter", "enter")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
async def test_slash_reference_enter_enter_in_one_burst_opens_that_ticket(demo_desk, size):
    from screens.ticket_detail import TicketDetailScreen

    t = ticket_for(demo_desk, "olivia", "note", kind="complaint")
    app = make_app(demo_desk)
    async with app.run_test(size=size) as pilot:
        await open_fast(pilot, t.reference)
        assert isinstance(app.screen, TicketDetailScreen)
        assert app.screen.reference == t.reference
        assert app.screen.data is not None and app.screen.data.ticket.reference == t.reference


@pytest.mark.parametrize("size", SIZES, ids=_ids)
async def test_n_and_400_characters_and_ctrl_s_in_one_burst_saves_the_whole_note(demo_desk, size):
    from screens.ticket_detail import TicketDetailScreen

    t = ticket_for(demo_desk, "alice", "note", kind="complaint", status="investigation")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=size) as pilot:
        await open_fast(pilot, t.reference)
        before = reload_ticket(demo_desk, t.reference).status
        await burst(pilot, "n", NOTE, "ctrl+s")
        await settle(pilot)
        assert NOTE in stored_bodies(demo_desk, t.id)
        assert isinstance(app.screen, TicketDetailScreen) and len(app.screen_stack) == 2
        assert reload_ticket(demo_desk, t.reference).status == before  # no a/c/e/... fired on the ticket


async def test_the_whole_path_in_one_burst_from_the_queue(demo_desk):
    """Open by reference and write the note in a single burst: nothing waits
    for the screen to open, nothing is lost on the way."""
    t = ticket_for(demo_desk, "alice", "note", kind="complaint", status="acknowledged")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, "/", t.reference, "enter", "enter", "n", NOTE, "ctrl+s")
        await settle(pilot)
        assert NOTE in stored_bodies(demo_desk, t.id)
        assert app.screen.reference == t.reference


TEXT_PROMPTS = [  # (action, key, login, ticket filter, previewed: a customer mail or a dangerous step is shown first)
    ("request_info", "f", "alice", {"kind": "complaint", "status": "acknowledged"}, True),
    ("reply", "r", "olivia", {"kind": "complaint"}, True),
    ("propose", "p", "alice", {"kind": "complaint", "status": "investigation"}, False),
    ("escalate", "e", "olivia", {"kind": "complaint", "status": "resolution_communicated"}, True),
    ("final_response", "F", "sofia", {"kind": "escalation", "status": "in_review"}, True),
]


@pytest.mark.parametrize("size", SIZES, ids=_ids)
@pytest.mark.parametrize("action,key,login,where,previewed", TEXT_PROMPTS, ids=[p[0] for p in TEXT_PROMPTS])
async def test_every_text_prompt_takes_a_burst_whole(demo_desk, action, key, login, where, previewed, size):
    """The burst lands whole in the prompt; ctrl+s shows the mail before it is
    queued (the text kept in the prompt under it) and enter sends it."""
    from screens.confirm import ConfirmScreen

    t = ticket_for(demo_desk, login, action, **where)
    app = make_app(demo_desk, login)
    async with app.run_test(size=size) as pilot:
        await open_fast(pilot, t.reference)
        await burst(pilot, key, NOTE, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) == previewed, (action, app.screen_stack)
        if previewed:
            assert app.screen_stack[-2].query_one("#prompt-text").text == NOTE  # under the preview, whole
            assert not any(NOTE in body for body in stored_bodies(demo_desk, t.id))  # nothing queued before enter
            await burst(pilot, "enter")
            await settle(pilot)
        bodies = stored_bodies(demo_desk, t.id)
        assert any(NOTE in body for body in bodies), (
            action,
            app.screen_stack,
            [b[:80] for b in bodies if "Mq" in b],
            screen_text(app),
        )
        assert app.screen.reference == t.reference


async def test_propose_then_communicate_the_prefilled_proposal_in_one_burst(demo_desk):
    """ctrl+s saves the proposal; the keys behind it wait for the ticket to be
    read again, so `m` finds "communicate" and its prompt prefilled; the
    resolution mail is previewed and the enter typed behind ctrl+s sends it."""
    t = ticket_for(demo_desk, "alice", "propose", kind="complaint", status="investigation")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(
            pilot, "p", "We reissue the profile.", "ctrl+s", "m", " And we add a month free.", "ctrl+s", "enter"
        )
        await settle(pilot)
        assert reload_ticket(demo_desk, t.reference).status == "resolution_communicated"
        assert any("We reissue the profile. And we add a month free." in b for b in stored_bodies(demo_desk, t.id))


async def test_acknowledge_then_note_in_one_burst(demo_desk):
    """A one-key action (a) and the keys typed behind it: they act on the
    acknowledged ticket (investigate is offered only then). The acknowledgment
    mail is previewed first: the enter typed behind `a` sends it."""
    t = ticket_for(demo_desk, "alice", "acknowledge", kind="complaint", status="submitted")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(pilot, "a", "enter", "i", "n", "Looked at the logs.", "ctrl+s")
        await settle(pilot)
        assert reload_ticket(demo_desk, t.reference).status == "investigation"
        assert "Looked at the logs." in stored_bodies(demo_desk, t.id)


async def test_extend_prompt_date_enter_reason_enter_in_one_burst(demo_desk):
    t = ticket_for(demo_desk, "olivia", "extend", kind="complaint")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(
            pilot, "x", "2026-12-31", "enter", "Carrier needs more time (Mq? dE)", "enter", "enter"
        )  # the last: send the preview
        await settle(pilot)
        after = reload_ticket(demo_desk, t.reference)
        assert after.resolution_due_at is not None and after.resolution_due_at.date().isoformat() in (
            "2026-12-31",
            "2026-12-30",
        )
        assert app.screen.reference == t.reference


async def test_close_choice_prompt_in_one_burst(demo_desk):
    t = ticket_for(demo_desk, "olivia", "close", kind="complaint")
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        reasons = app.screen.data.close_reasons
        await burst(pilot, "c", "enter", "enter")  # the reason, then yes on the confirmation
        await settle(pilot)
        assert reload_ticket(demo_desk, t.reference).close_reason == reasons[0]


@pytest.mark.parametrize("size", SIZES, ids=_ids)
async def test_letters_typed_into_the_filter_never_fire_screen_actions(demo_desk, size):
    from screens.queue import QueueScreen

    app = make_app(demo_desk)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        typed = "Mq?dEsw5 CMP-2026-000496"
        await burst(pilot, "/", typed)
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen) and len(app.screen_stack) == 1  # no quarantine, help, dashboard...
        assert app.is_running  # q did not quit
        screen = app.screen
        assert screen.query_one("#queue-filter").value == typed
        assert screen.view == "all" and screen.sort == "due"  # 5 and s went into the text
        assert typed in screen_text(app)  # what is typed is visible


async def test_a_paste_lands_whole_in_the_note(demo_desk):
    from textual import events

    t = ticket_for(demo_desk, "alice", "note", kind="complaint", status="investigation")
    pasted = "line one: Mq?\nline two: dEac\n" + NOTE
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_fast(pilot, t.reference)
        await burst(pilot, "n")
        app.post_message(events.Paste(pasted))
        await burst(pilot, "ctrl+s")
        await settle(pilot)
        assert pasted in stored_bodies(demo_desk, t.id)


async def test_burst_in_the_refund_wizard_equals_slow_keys(demo_desk):
    """The wizard opened from the queue takes a burst of answers (step
    pages, the reason list) exactly like the same keys pressed one by one."""
    from screens.refund_wizard import RefundWizardScreen

    t = ticket_for(demo_desk, "olivia", "refund_wizard", kind="refund")
    keys = ["w", "right", "right", "1", "right", "2", "right", "left", "right", "right", "right"]
    results = []
    for fast in (False, True):
        app = make_app(demo_desk)
        async with app.run_test(size=(160, 50)) as pilot:
            await settle(pilot)
            await burst(pilot, "/", t.reference, "enter")
            await settle(pilot)
            if fast:
                await burst(pilot, *keys)
            else:
                for k in keys:
                    await burst(pilot, k)
                    await settle(pilot)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, RefundWizardScreen)
            results.append((screen.page, dict(screen.facts), [r.answer for r in screen.results]))
    assert results[0] == results[1]


@pytest.mark.parametrize("size", SIZES, ids=_ids)
async def test_filter_enter_goes_to_the_first_match_and_enter_again_opens_it(demo_desk, size):
    from screens.queue import QueueScreen
    from screens.ticket_detail import TicketDetailScreen

    app = make_app(demo_desk)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await burst(pilot, "/", "tokyo", "enter")
        await settle(pilot)
        queue = app.screen
        table = queue.table
        assert app.focused is table and table.cursor == 0
        first = table.current.reference
        assert "tokyo" in table.current.subject.lower() or "tokyo" in (table.current.customer or "").lower()
        bar = queue.query_one("#queue-filter-row")
        assert bar.region.height == 1 and bar.region.y + 1 == table.region.y  # one line, right above the table
        assert f"{table.row_count} matches" in screen_text(app) and "/ tokyo" in screen_text(app)
        await burst(pilot, "escape")  # clears it
        await settle(pilot)
        assert queue.text == "" and not bar.display and table.row_count == 400
        await burst(pilot, "/", "tokyo", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketDetailScreen) and app.screen.reference == first
        await burst(pilot, "escape", "/", "no such thing at all", "enter")  # nothing matches: enter stays in the filter
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen) and app.focused is queue.query_one("#queue-filter")
        assert "no match" in screen_text(app)


async def test_enter_on_no_match_in_my_tickets_looks_in_all_and_enter_again_opens_it(demo_desk):
    """A colleague's reference typed in My tickets, its "no match" already on
    screen: enter looks through every ticket, and the enter typed right behind
    it waits for those matches and opens the ticket (it went to the filter, and
    the letters after it to the queue's one-key actions)."""
    from app.config import DeskConfig
    from models import Staff, Ticket
    from screens.ticket_detail import TicketDetailScreen

    with demo_desk.reader() as s:
        alice = s.exec(select(Staff).where(Staff.login == "alice")).one()
        reference = s.exec(select(Ticket.reference).where(Ticket.assignee_id == alice.id).order_by(Ticket.id)).first()
    app = make_app(demo_desk, "bob", config=DeskConfig(console_start_view="my"))
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await burst(pilot, "/", reference)
        await settle(pilot)
        assert "no match in My tickets" in screen_text(app)
        await burst(pilot, "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketDetailScreen) and app.screen.reference == reference


async def test_a_paste_lands_whole_in_the_filter(demo_desk):
    from textual import events

    t = ticket_for(demo_desk, "olivia", "note", kind="complaint")
    app = make_app(demo_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await burst(pilot, "/")
        app.post_message(events.Paste(t.reference))
        await burst(pilot, "enter", "enter")
        await settle(pilot)
        assert app.screen.reference == t.reference


async def test_letters_typed_into_the_wizard_fact_input_never_fire_its_actions(desk):
    """The wizard's one-letter actions (s save, a approve, d deny...) stay quiet
    while a fact is typed; the typed answer walks on as if typed slowly."""
    from datetime import timedelta

    from app.console_keys import TypeAheadApp
    from refund_case_helpers import CAL, RECEIVED, add_staff
    from wizard_harness import WizardApp, add_case

    class TypeAheadWizard(TypeAheadApp, WizardApp):
        pass

    with desk.session() as s:
        agent = add_staff(s, "alice", "agent")
        f = {
            "purchase_at": "2025-03-10T09:00:00Z",
            "request_at": "2025-03-12T09:00:00Z",
            "amount_paid": 20.0,
            "currency": "EUR",
            "reason": "other",
            "alternative": "partial_refund",
        }
        add_case(s, "RFD-2026-000107", "esimium", f)
    app = TypeAheadWizard(desk, agent, "RFD-2026-000107", lambda: RECEIVED + timedelta(hours=3), CAL)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        unknown = next(i for i, r in enumerate(screen.results) if r.answer == "unknown")
        await burst(
            pilot, *["right"] * unknown, "sad", "backspace", "backspace", "backspace", "5.5", "enter", *["right"] * 12
        )
        await settle(pilot)
        assert screen.facts["partial_amount"] == 5.5
        assert screen.on_decision_page and screen.status_line == ""  # nothing saved, approved or denied
        assert not app._notifications  # not even a "walk to the decision page first"
        assert screen.view.decision is None


async def test_a_reference_typed_in_my_tickets_finds_a_ticket_outside_it(demo_desk):
    """/ reference enter enter from My tickets opens a ticket that is not
    mine: nothing matches in the view, so enter looks in All."""
    from app.config import DeskConfig
    from models import Staff, Ticket
    from screens.ticket_detail import TicketDetailScreen

    with demo_desk.reader() as s:
        alice = s.exec(select(Staff).where(Staff.login == "alice")).one()
        t = s.exec(select(Ticket).where(Ticket.assignee_id != alice.id).order_by(Ticket.id)).first()
        reference = t.reference
    app = make_app(demo_desk, "alice", config=DeskConfig())  # starts on My tickets
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        assert app.screen.view == "my"
        await burst(pilot, "/", reference, "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketDetailScreen) and app.screen.reference == reference
        await burst(pilot, "escape")
        await settle(pilot)
        assert app.screen.view == "all" and app.screen.text == reference


@pytest.mark.parametrize("size", SIZES, ids=_ids)
async def test_a_view_key_then_enter_in_one_burst_opens_the_new_views_first_row(demo_desk, size):
    """Enter typed right behind a view's key opens that view's first row, not
    the row the view before had under the cursor (or nothing, at start)."""
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=size) as pilot:
        await burst(pilot, "3", "enter")  # typed before the start view's rows are in, too
        await settle(pilot)
        opened = app.screen.reference
        await burst(pilot, "escape")
        await settle(pilot)
        queue = app.screen
        assert queue.view == "due_today"
        assert opened == queue.table.cache[0].reference
        await burst(pilot, "5", "enter")
        await settle(pilot)
        opened = app.screen.reference
        await burst(pilot, "escape")
        await settle(pilot)
        assert queue.view == "breached" and opened == queue.table.cache[0].reference
