"""A person's mail waits `[outbox] hold_seconds` before `outbox send` may send
it, and can be recalled meanwhile (the service hands its text back); automatic
acknowledgments are not held. End to end through the CLI into a Maildir."""

from __future__ import annotations

import json
import mailbox
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.cli.main import main
from app.config import parse_config
from app.errors import AccessDenied, InputError
from app.mail.outbox import deliver
from app.tickets import utcnow
from app.workflow import acknowledge, reply
from app.workflow.recall import held, recall, recall_latest
from models import Message, TicketEvent
from workflow_helpers import add_staff, new_complaint


def _config(tmp_path, hold: float):
    maildir = tmp_path / "sent"
    text = f'[outbox]\nmaildir = "{maildir}"\nhold_seconds = {hold}\n'
    path = tmp_path / "config.toml"
    path.write_text(text)
    return parse_config({"outbox": {"maildir": str(maildir), "hold_seconds": hold}}), path, maildir


def _sent(maildir) -> list[str]:
    if not maildir.exists():
        return []
    return sorted(m["Subject"] for m in mailbox.Maildir(str(maildir), create=False))


def _cli(capsys, url: str, *args: str) -> tuple[int, dict | str]:
    rc = main(["--db", url, *args])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if rc == 0 else err)


def test_held_mail_is_not_sent_early_and_recalled_mail_never(desk, desk_url, tmp_path, monkeypatch, capsys):
    from app.identity import os_login

    config, path, maildir = _config(tmp_path, 1.5)
    monkeypatch.setenv("ESIMDESK_CONFIG", str(path))
    me = add_staff(desk, os_login(), "agent")
    ref = new_complaint(desk)
    now = utcnow()
    with desk.session() as s:
        acknowledge(s, me, ref, now=now, config=config)  # an acknowledgment: never held
    with desk.session() as s:
        keep = reply(
            s, me, ref, "We are on it; a new eSIM profile is on its way.", now=now, config=config, subject="keep"
        ).id
    with desk.session() as s:
        take_back = reply(
            s, me, ref, "Please ignore the refund amount I mentioned.", now=now, config=config, subject="take back"
        ).id
        assert s.get(Message, take_back).hold_until == now + timedelta(seconds=1.5)

    rc, out = _cli(capsys, desk_url, "outbox", "send")
    assert rc == 0 and out["sent"] == 1  # only the acknowledgment
    assert len(_sent(maildir)) == 1 and "keep" not in _sent(maildir)[0]

    rc, out = _cli(capsys, desk_url, "outbox", "recall", str(take_back))
    assert rc == 0
    assert out["recalled"] == take_back and out["ticket"] == ref
    assert out["body"] == "Please ignore the refund amount I mentioned.\n"

    rc, err = _cli(capsys, desk_url, "outbox", "recall", str(take_back))  # gone: one line, exit 2
    assert rc == 2 and "no outgoing message" in err and "Traceback" not in err

    time.sleep(1.6)
    rc, out = _cli(capsys, desk_url, "outbox", "send")
    assert rc == 0 and [i["id"] for i in out["items"]] == [keep] and out["sent"] == 1
    subjects = _sent(maildir)
    assert len(subjects) == 2 and any("keep" in s for s in subjects) and not any("take back" in s for s in subjects)

    rc, err = _cli(capsys, desk_url, "outbox", "recall", str(keep))  # sent: too late
    assert rc == 2 and "already sent" in err
    with desk.reader() as s:
        events = list(s.scalars(select(TicketEvent.action).order_by(TicketEvent.id)))
    assert events.count("mail_recalled") == 1


def test_a_sender_never_sends_during_the_hold_and_a_claimed_message_cannot_be_recalled(desk, tmp_path):
    config, _path, maildir = _config(tmp_path, 30)
    alice = add_staff(desk, "alice")
    ref = new_complaint(desk)
    now = utcnow()
    with desk.session() as s:
        mid = reply(s, alice, ref, "text", now=now, config=config).id
    for seconds in (0, 10, 29.9):
        assert deliver(desk, config, now=now + timedelta(seconds=seconds)).items == []
    assert _sent(maildir) == []
    # a sender whose clock says the hold is over claims it (next attempt pushed out by the
    # claim lease); a recall racing it with a clock still inside the hold is refused
    with desk.session() as s:
        s.get(Message, mid).next_attempt_at = now + timedelta(seconds=30, minutes=10)
    with desk.session() as s, pytest.raises(InputError, match="no longer held"):
        recall(s, alice, mid, now=now + timedelta(seconds=29))
    with desk.session() as s:
        s.get(Message, mid).next_attempt_at = now
    assert [i.result for i in deliver(desk, config, now=now + timedelta(seconds=30)).items] == ["sent"]
    assert len(_sent(maildir)) == 1


def test_recall_latest_takes_back_only_ones_own_mail(desk, tmp_path):
    config, _path, _maildir = _config(tmp_path, 30)
    alice, bob = add_staff(desk, "alice"), add_staff(desk, "bob")
    lead = add_staff(desk, "olivia", "supervisor")
    ref = new_complaint(desk)
    now = utcnow()
    with desk.session() as s:
        first = reply(s, alice, ref, "first", now=now, config=config).id
        second = reply(s, alice, ref, "second", now=now + timedelta(seconds=1), config=config).id
    with desk.session() as s, pytest.raises(InputError, match="no mail of yours"):
        recall_latest(s, bob, ref, now=now + timedelta(seconds=2))
    with desk.session() as s, pytest.raises(AccessDenied):
        recall(s, bob, first, now=now + timedelta(seconds=2))
    with desk.session() as s:
        assert recall_latest(s, alice, ref, now=now + timedelta(seconds=2)).id == second
    with desk.session() as s:
        assert recall(s, lead, first, now=now + timedelta(seconds=2)).body == "first\n"
    with desk.reader() as s:
        assert s.get(Message, first) is None and s.get(Message, second) is None
        from app import tickets

        assert held(s, tickets.get(s, ref).id, now) == []


def test_hold_seconds_is_checked():
    with pytest.raises(Exception, match="hold_seconds"):
        parse_config({"outbox": {"hold_seconds": -1}})
    with pytest.raises(Exception, match="start_view"):
        parse_config({"console": {"start_view": "mine"}})
    assert parse_config({}).outbox_hold_seconds == 30


def test_mail_that_carries_a_workflow_step_is_neither_held_nor_recallable(desk, tmp_path):
    """Taking back a request for information would leave the complaint waiting
    on a customer who was never asked: only a free reply is held."""
    from app.workflow import request_info

    config, _path, maildir = _config(tmp_path, 30)
    alice = add_staff(desk, "alice")
    ref = new_complaint(desk)
    now = utcnow()
    with desk.session() as s:
        acknowledge(s, alice, ref, now=now, config=config)
    with desk.session() as s:
        asked = request_info(s, alice, ref, "Which phone model do you use?", now=now, config=config)
        assert asked is not None and asked.hold_until is None
        asked_id = asked.id
    with desk.session() as s, pytest.raises(InputError, match="no mail of yours is still held"):
        recall_latest(s, alice, ref, now=now + timedelta(seconds=1))
    with desk.session() as s, pytest.raises(InputError, match="cannot be recalled"):
        recall(s, alice, asked_id, now=now + timedelta(seconds=1))
    # it goes with the next run, and the complaint waits on the customer as told
    deliver(desk, config, now=now + timedelta(seconds=1))
    assert any("information" in subject.lower() or ref in subject for subject in _sent(maildir))
    from app import tickets

    with desk.reader() as s:
        assert tickets.get(s, ref).status == "information_gathering"
        assert s.get(Message, asked_id).delivery == "sent"
