"""The one helper screens run services with (screens/service_worker.py):
outcomes recognised by the error's type, never its text; the stale-ticket
reload read in the worker; the refund wizard reads its case off the event loop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from app.errors import AccessDenied, DeskError, StaleTicket
from conftest import FROZEN_NOW
from console_helpers import find_ticket, make_app, open_by_filter, settle
from screens.service_worker import Outcome


def test_outcomes_are_told_apart_by_type_not_text():
    stale = Outcome(error=StaleTicket("CMP-1", "bob", datetime(2026, 11, 2, tzinfo=UTC)))
    refused = Outcome(error=AccessDenied("changed by bob"))  # the words of a stale ticket, but a refusal
    done = Outcome("saved")
    assert (stale.stale, stale.reload, stale.severity) == (True, True, "warning")
    assert (refused.stale, refused.reload, refused.severity) == (False, False, "error")
    assert (done.ok, done.reload, done.severity, done.text) == (True, True, "information", "")
    assert "information_gathering" not in Outcome(error=DeskError("it is information_gathering")).text  # in words


async def test_a_stale_save_reloads_from_the_worker(demo_desk):
    """Saved while a colleague changed the ticket: the screen says who and
    shows what is stored now, read in the same worker (not on the loop)."""
    from app.identity import resolve_actor
    from app.workflow import add_note

    t = find_ticket(demo_desk, kind="complaint", status="acknowledged")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await open_by_filter(pilot, t.reference)
        screen = app.screen
        seen: list = []

        def then(outcome: Outcome) -> None:
            seen.append((outcome, threading.current_thread() is threading.main_thread()))

        def stale_call(s, now):
            return add_note(s, screen.app.actor, t.reference, "late", expected_version=t.version, now=now)

        with demo_desk.session() as s:
            add_note(s, resolve_actor(s, "bob"), t.reference, "bob was here", now=FROZEN_NOW)
        reads: list[bool] = []

        def read():
            reads.append(threading.current_thread() is threading.main_thread())
            return "fresh"

        screen.run_service_call(stale_call, then, group="detail-action", read=read)
        assert screen.busy
        await settle(pilot)
        ((outcome, on_loop),) = seen
        assert outcome.stale and "bob" in outcome.text and outcome.fresh == "fresh"
        assert reads == [False] and on_loop and not screen.busy


async def test_the_refund_wizard_reads_its_case_off_the_event_loop(demo_desk, monkeypatch):
    pytest.importorskip("screens.refund_wizard")
    import screens.refund_wizard as wizard

    threads: list[bool] = []
    real = wizard.read_case

    def spy(*args, **kw):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kw)

    monkeypatch.setattr(wizard, "read_case", spy)
    t = find_ticket(demo_desk, kind="refund", status="under_review")
    app = make_app(demo_desk, "alice")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await open_by_filter(pilot, t.reference)
        await pilot.press("w")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, wizard.RefundWizardScreen) and screen.view is not None
        assert screen.view.ticket.reference == t.reference
    assert threads and not any(threads)  # every read in a worker thread
