"""Pilot tests of the console's flow: customer mail previewed exactly as queued
and taken back while held (through the outbox sender into a Maildir),
confirmations before dangerous keys, the refund wizard's change of an answer,
navigation keys, the kiosk wall, and no code words on the main screens."""

from __future__ import annotations

import mailbox
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.config import DeskConfig
from app.mail.outbox import deliver
from conftest import FROZEN_NOW, frozen_now
from console_helpers import find_ticket, make_app, reload_ticket, screen_text, settle
from models import Customer, Message, Ticket

HOLD = 30


def desk_config(tmp_path) -> DeskConfig:
    return DeskConfig(console_start_view="all", outbox_maildir=str(tmp_path / "sent"), outbox_hold_seconds=HOLD)


def console_on(desk, tmp_path, kind: str, status: str, login: str = "olivia"):
    """(a ticket of `kind` in `status`, the desk config, a console for `login`)."""
    config = desk_config(tmp_path)
    return find_ticket(desk, kind=kind, status=status), config, make_app(desk, login, config=config)


async def open_ticket(pilot, reference: str) -> None:
    await settle(pilot)
    await pilot.press("slash", *list(reference))
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def email_of(desk, reference: str) -> str:
    with desk.reader() as s:
        t = s.exec(select(Ticket).where(Ticket.reference == reference)).one()
        return s.get(Customer, t.customer_id).email


def outbound(desk, reference: str) -> list[Message]:
    with desk.reader() as s:
        t = s.exec(select(Ticket).where(Ticket.reference == reference)).one()
        rows = s.exec(
            select(Message).where(Message.ticket_id == t.id, Message.kind == "outbound").order_by(Message.id)
        ).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def maildir_bodies(tmp_path) -> list[str]:
    box = tmp_path / "sent"
    if not box.exists():
        return []
    return [m.get_payload(decode=True).decode() for m in mailbox.Maildir(str(box), create=False)]


# -- 4: preview and recall ---------------------------------------------------------
async def test_reply_is_previewed_exactly_edited_again_queued_held_and_recalled(demo_desk, tmp_path):
    from screens.confirm import ConfirmScreen
    from screens.prompts import ReplyPrompt

    t, config, app = console_on(demo_desk, tmp_path, "complaint", "investigation")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_ticket(pilot, t.reference)
        await pilot.press("r", *list("Your new profile is on its way."), "ctrl+s")  # typing starts in the text
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, ConfirmScreen)
        [mail] = preview.mails
        assert mail.to == email_of(demo_desk, t.reference) and t.reference in mail.subject
        # the whole mail as queued: one greeting, the agent's text, one signature
        assert (
            mail.body.startswith("Dear ")
            and "\n\nYour new profile is on its way.\n\n" in mail.body
            and mail.hold_seconds == HOLD
        )
        assert mail.body.count("Dear ") == 1 and mail.body.count("Kind regards") == 1
        text = screen_text(app)
        assert "To: " + mail.to in text and "Your new profile is on its way." in text and "press u" in text
        assert all(m.body != mail.body for m in outbound(demo_desk, t.reference))  # previewed, not queued

        await pilot.press("escape")  # back to editing, the text intact
        await settle(pilot)
        assert isinstance(app.screen, ReplyPrompt)
        assert app.screen.query_one("#prompt-text").text == "Your new profile is on its way."
        await pilot.press(*list(" Tracking: 42."), "ctrl+s")
        await settle(pilot)
        assert "\n\nYour new profile is on its way. Tracking: 42.\n\n" in app.screen.mails[0].body
        shown = app.screen.mails[0]
        await pilot.press("enter")
        await settle(pilot)
        [queued] = [m for m in outbound(demo_desk, t.reference) if m.author == "olivia"]
        assert (queued.subject, queued.body, queued.to_addr) == (shown.subject, shown.body, shown.to)
        assert queued.hold_until == FROZEN_NOW + timedelta(seconds=HOLD)

        # the sender never sends it during the hold
        early = deliver(demo_desk, config, now=FROZEN_NOW + timedelta(seconds=HOLD - 1))
        assert queued.id not in [i.id for i in early.items]

        await pilot.press(
            "u"
        )  # take it back: the agent's text (not greeting and signature) returns to the reply prompt
        await settle(pilot)
        assert isinstance(app.screen, ReplyPrompt)
        assert app.screen.query_one("#prompt-text").text == "Your new profile is on its way. Tracking: 42.\n"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("r")  # escape did not lose it: the taken-back text is the reply draft
        await settle(pilot)
        assert app.screen.query_one("#prompt-text").text == "Your new profile is on its way. Tracking: 42.\n"
        await pilot.press("escape")
        await settle(pilot)
    assert [m for m in outbound(demo_desk, t.reference) if m.author == "olivia"] == []
    later = deliver(demo_desk, config, now=FROZEN_NOW + timedelta(hours=1))
    assert queued.id not in [i.id for i in later.items]
    assert not any("Tracking: 42." in body for body in maildir_bodies(tmp_path))


async def test_template_mail_preview_is_the_queued_mail_and_acknowledgments_are_not_held(demo_desk, tmp_path):
    from screens.confirm import ConfirmScreen

    t, config, app = console_on(demo_desk, tmp_path, "complaint", "submitted")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_ticket(pilot, t.reference)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        [mail] = app.screen.mails
        assert mail.template == "acknowledgment" and mail.hold_seconds is None
        assert "$" not in mail.body and t.reference in mail.body  # every field filled
        assert reload_ticket(demo_desk, t.reference).status == "submitted"  # nothing happened yet
        await pilot.press("enter")
        await settle(pilot)
    assert reload_ticket(demo_desk, t.reference).status == "acknowledged"
    [queued] = [m for m in outbound(demo_desk, t.reference) if m.template == "acknowledgment"]
    assert (queued.subject, queued.body) == (mail.subject, mail.body) and queued.hold_until is None
    sent = deliver(demo_desk, config, now=FROZEN_NOW)
    assert queued.id in [i.id for i in sent.items if i.result == "sent"]
    assert mail.body.strip() in "\n".join(b.replace("\r\n", "\n") for b in maildir_bodies(tmp_path))


# -- 6: dangerous keys ask first ---------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "key", "words", "back", "yes", "reason"),
    [
        ("complaint", "t", "Triage", "escape", "enter", "out_of_scope"),
        ("inquiry", "c", "Close", "n", "y", None),
    ],
)
async def test_dangerous_keys_confirm_naming_the_customer_and_going_back_changes_nothing(
    demo_desk, tmp_path, kind, key, words, back, yes, reason
):
    from screens.choice_prompt import ChoicePrompt
    from screens.confirm import ConfirmScreen

    t, _config, app = console_on(demo_desk, tmp_path, kind, "submitted")
    with demo_desk.reader() as s:
        name = s.get(Customer, t.customer_id).name
    async with app.run_test(size=(160, 50)) as pilot:
        await open_ticket(pilot, t.reference)
        await pilot.press(key, "enter")  # the reason or category: the first one
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert words in app.screen.headline and t.reference in app.screen.headline and name in app.screen.headline
        keys = str(app.screen.query_one("#confirm-keys").render())
        assert "back to the choices" in keys and "editing" not in keys  # nothing was typed to edit
        await pilot.press(back)  # back to the choice
        await settle(pilot)
        assert isinstance(app.screen, ChoicePrompt)
        await pilot.press("escape")
        await settle(pilot)
        assert reload_ticket(demo_desk, t.reference).status == "submitted"
        await pilot.press(key, "enter")
        await settle(pilot)
        await pilot.press(yes)
        await settle(pilot)
    after = reload_ticket(demo_desk, t.reference)
    assert after.status == "closed" and (reason is None or after.close_reason == reason)


# -- 7: the wizard changes an answer ----------------------------------------------------------
async def test_wizard_goes_back_changes_an_answer_and_later_steps_follow(desk):
    from app.refunds import decide, fact_prompt
    from refund_case_helpers import CAL, RECEIVED, add_staff
    from wizard_harness import WizardApp, add_case, walk_to_decision

    with desk.session() as s:
        agent = add_staff(s, "alice", "agent")
    ref = "RFD-2026-000301"
    # activated: an unactivated eSIM inside the window is refunded whatever the reason (2.1/3.2), so no question is asked
    f = {
        "purchase_at": "2025-03-10T09:00:00Z",
        "request_at": "2025-03-12T09:00:00Z",
        "amount_paid": 20.0,
        "currency": "EUR",
        "reason": "force_majeure",
        "installed": True,
        "activated": True,
    }
    with desk.session() as s:
        add_case(s, ref, "esimium", f)
    app = WizardApp(desk, agent, ref, lambda: RECEIVED + timedelta(hours=3), CAL)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        while screen.results[screen.page].answer != "unknown":
            await pilot.press("right")
        step = screen.page
        name = screen.results[step].missing[0]
        first, last = fact_prompt(name)[1][0][0], fact_prompt(name)[1][-1][0]
        await pilot.press("1")
        await walk_to_decision(pilot)
        assert screen.decision() == decide("esimium", {**f, name: first})
        before = [r.finding for r in screen.results]
        # back to the first step, then forward to the answered one, and change it
        await pilot.press("home", *["right"] * step, "e")
        await pilot.pause()
        assert screen.page == step and screen.results[step].answer == "unknown"
        await pilot.press(str(len(fact_prompt(name)[1])))
        await pilot.pause()
        assert screen.facts[name] == last
        await walk_to_decision(pilot)
        assert screen.decision() == decide("esimium", {**f, name: last})
        assert [r.finding for r in screen.results] != before  # later steps were evaluated again


# -- 8: navigation ---------------------------------------------------------------------------
async def test_agents_and_seniors_start_on_my_tickets(demo_desk):
    for login, view, config in (
        ("alice", "my", DeskConfig()),
        ("sofia", "my", DeskConfig()),
        ("olivia", "all", DeskConfig()),
        ("alice", "breached", DeskConfig(console_start_view="breached")),
    ):
        app = make_app(demo_desk, login, config=config)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.screen.view == view, login
            strip = app.screen.query_one("#queue-views").render()
            current = [span for span in strip.spans if getattr(span.style, "reverse", None)]
            assert current, "the current view is highlighted"


async def test_unavailable_key_says_why(demo_desk):
    from app.identity import resolve_actor
    from app.workflow import add_note

    esc = find_ticket(demo_desk, kind="escalation", status="submitted")
    with demo_desk.reader() as s:
        complaint_ref = s.get(Ticket, esc.escalation_of_id).reference
    with demo_desk.session() as s:
        add_note(s, resolve_actor(s, "marek"), complaint_ref, "looked at it", now=FROZEN_NOW)
    app = make_app(demo_desk, "marek")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_ticket(pilot, esc.reference)
        await pilot.press("v")
        await settle(pilot)
        assert any(n.message == "v Take review: you handled this complaint" for n in app._notifications)
        assert reload_ticket(demo_desk, esc.reference).reviewer_id is None


async def test_from_an_escalation_C_opens_its_complaint_and_escape_returns(demo_desk):
    esc = find_ticket(demo_desk, kind="escalation", status="submitted")
    with demo_desk.reader() as s:
        complaint_ref = s.get(Ticket, esc.escalation_of_id).reference
    app = make_app(demo_desk, "sofia")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_ticket(pilot, esc.reference)
        assert app.screen.reference == esc.reference
        await pilot.press("C")
        await settle(pilot)
        assert app.screen.reference == complaint_ref and complaint_ref in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.reference == esc.reference
        await pilot.press("escape", "E")  # the same key from the escalation queue
        await settle(pilot)
        queue = app.screen
        first = queue.query_one("TicketTable").current.reference
        with demo_desk.reader() as s:
            t = s.exec(select(Ticket).where(Ticket.reference == first)).one()
            expected = s.get(Ticket, t.escalation_of_id).reference
        assert expected in screen_text(app)  # the full complaint reference, even at 80 columns
        await pilot.press("C")
        await settle(pilot)
        assert app.screen.reference == expected
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is queue


async def test_ticket_opens_at_the_customers_first_message_at_80x24(demo_desk):
    t = find_ticket(demo_desk, kind="complaint", status="resolution_communicated")
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_ticket(pilot, t.reference)
        timeline = app.screen.query_one("#detail-timeline")
        assert timeline.scroll_y == timeline._first_customer_line
        assert "CUSTOMER" in screen_text(app)


async def test_kiosk_ignores_every_key_but_the_exit_chord(demo_desk):
    from app.identity import Actor
    from app.wall import WallApp
    from screens.dashboard import DashboardScreen

    app = WallApp(
        demo_desk,
        Actor(12, "olivia", "Olivia Brown", "supervisor"),
        DeskConfig(),
        now=frozen_now,
        kiosk=True,
        refresh_seconds=3600,
    )
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await pilot.press("escape", "q", "ctrl+q", "ctrl+c", "ctrl+p", "r", "question_mark", "ctrl+x", "a", "ctrl+x")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and app.return_code is None
        await pilot.press("ctrl+x", "ctrl+x")
        await pilot.pause()
        assert app.return_code == 0


# -- 5: words a person understands ---------------------------------------------------------------
RAW = re.compile(
    r"\b(submitted|information_gathering|investigation|resolution_proposed|resolution_communicated|in_review|"
    r"under_review|final_response|out_of_scope|refund_completed|refund_denied|no_reply|end_user|end_customer)\b"
    r"|UTC|\+00:00|\d{4}-\d\d-\d\d[T ]\d\d:\d\d|Help —|Screen\b|act\(|app\.|\b1 tickets\b"
)


async def test_main_screens_help_and_palette_show_no_code_words(demo_desk):
    from screens.help import HelpScreen

    texts: dict[str, str] = {}
    app = make_app(demo_desk, "olivia")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        texts["queue"] = screen_text(app)
        commands = list(app.get_system_commands(app.screen))
        texts["palette"] = "\n".join(f"{c.title} {c.help}" for c in commands)
        assert [c.title for c in commands].count("Quit") == 1
        await pilot.press("question_mark")
        await settle(pilot)
        texts["help queue"] = screen_text(app)
        await pilot.press("escape")
        for kind, status in (
            ("complaint", "information_gathering"),
            ("refund", "under_review"),
            ("escalation", "in_review"),
            ("complaint", "resolution_communicated"),
            ("complaint", "closed"),
        ):
            t = find_ticket(demo_desk, kind=kind, status=status)
            if t is None:
                continue
            await open_ticket(pilot, t.reference)
            assert getattr(app.screen, "reference", None) == t.reference
            texts[f"{kind} {status}"] = screen_text(app)
            texts[f"{kind} {status} timeline"] = (
                app.screen.query_one("#detail-timeline").render_items(app.screen.data.timeline).plain
            )
            texts[f"palette {kind}"] = "\n".join(f"{c.title} {c.help}" for c in app.get_system_commands(app.screen))
            await pilot.press("question_mark")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            texts[f"help {kind}"] = screen_text(app)
            await pilot.press("escape", "escape")
            await settle(pilot)
            await pilot.press("escape")  # clear the filter
            await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        texts["escalation queue"] = screen_text(app)
    found = {where: sorted({m.group(0) for m in RAW.finditer(text)}) for where, text in texts.items()}
    assert {w: f for w, f in found.items() if f} == {}
    assert len(texts) > 10
