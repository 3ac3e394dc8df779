"""`esimdesk ticket ...` end to end on a real SQLite desk."""

from __future__ import annotations

import json

import pytest

from app.cli.main import main
from app.identity import os_login
from models import DeskSetting
from workflow_helpers import add_staff, new_complaint, walk


@pytest.fixture
def cli(desk, desk_url, capsys):
    add_staff(desk, os_login(), "agent")
    with desk.session() as s:
        s.add(DeskSetting(key="demo", value="true"))  # lets tests use --as

    def run(*argv):
        code = main(["--db", desk_url, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_walk_a_complaint_from_the_shell(cli, desk):
    add_staff(desk, "olivia", "supervisor")
    ref = new_complaint(desk)
    code, out, _ = cli("ticket", "show", ref)
    shown = json.loads(out)
    assert code == 0 and shown["status"] == "submitted" and "acknowledge" in shown["next_actions"]
    assert shown["region_guidance"].startswith("Southeast Asia:")
    v = shown["version"]
    code, out, _ = cli("ticket", "ack", ref, "--version", str(v))
    acked = json.loads(out)
    assert code == 0 and acked["status"] == "acknowledged"
    # the instant just computed is written as the one read back: UTC, the same text
    assert acked["due_at"].endswith("+00:00")
    assert acked["due_at"] == json.loads(cli("ticket", "show", ref)[1])["due_at"]
    code, out, _ = cli("ticket", "note", ref, "looked at the logs")
    assert code == 0
    code, out, _ = cli("ticket", "move", ref, "investigation")
    assert json.loads(out)["status"] == "investigation"
    code, out, _ = cli("ticket", "extend", ref, "--to", "2026-12-31", "--reason", "carrier logs pending")
    assert code == 0 and json.loads(out)["extensions"] == 1
    code, out, _ = cli("ticket", "move", ref, "resolution_proposed", "--text", "Refund the guide fee.")
    code, out, _ = cli("ticket", "move", ref, "resolution_communicated")
    assert json.loads(out)["status"] == "resolution_communicated"
    code, out, _ = cli("ticket", "escalate", ref, "--reason", "Not enough")
    esc = json.loads(out)
    assert code == 0 and esc["created"] and esc["escalation"].startswith("ESC-")
    code, out, err = cli("ticket", "escalate", ref, "--reason", "Again")
    assert code == 2 and "final internal review stage" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli("ticket", "show", ref)
    shown = json.loads(out)
    assert shown["status"] == "escalated" and shown["escalation"] == esc["escalation"]
    assert [i["action"] for i in shown["timeline"] if i["kind"] == "event"][-1] == "refused"


def test_errors_are_one_line_exit_2(cli, desk):
    ref = new_complaint(desk)
    code, _out, err = cli("ticket", "move", ref, "investigation")
    assert code == 2 and "is submitted: cannot move to investigation" in err and len(err.strip().splitlines()) == 1
    code, _out, err = cli("ticket", "ack", ref, "--version", "7")
    assert code == 2 and "was changed by" in err
    code, _out, err = cli("ticket", "show", "CMP-2026-999999")
    assert code == 2 and "no ticket" in err
    code, _out, err = cli("ticket", "triage", ref, "weather")
    assert code == 2 and "unknown out-of-scope category" in err


def test_triage_reopen_and_role_refusal(cli, desk):
    add_staff(desk, "sam", "senior")
    ref = new_complaint(desk)
    code, _out, err = cli("--as", "sam", "ticket", "triage", ref, "hardware")
    assert code == 2 and "sam (senior) may not triage" in err
    code, out, _ = cli("ticket", "triage", ref, "hardware")
    assert code == 0 and json.loads(out)["close_reason"] == "out_of_scope"
    code, out, _ = cli("ticket", "reopen", ref, "--reason", "misclassified")
    assert code == 0 and json.loads(out)["status"] == "submitted" and json.loads(out)["kind"] == "complaint"


def test_review_and_final_through_cli(cli, desk):
    add_staff(desk, "sara", "senior")
    agent = add_staff(desk, "alice", "agent")
    ref = new_complaint(desk)
    walk(desk, ref, agent, "escalated")
    from app import tickets

    with desk.reader() as s:
        from sqlalchemy import select

        from models import Ticket

        esc_ref = s.scalars(select(Ticket.reference).where(Ticket.kind == "escalation")).one()
    code, _out, err = cli("ticket", "review", esc_ref)  # the OS user is an agent
    assert code == 2 and "seniors only" in err
    code, out, _ = cli("--as", "sara", "ticket", "review", esc_ref)
    assert code == 0 and json.loads(out)["status"] == "in_review"
    code, out, _ = cli("--as", "sara", "ticket", "final", esc_ref, "We refund the plan in full.")
    assert code == 0 and json.loads(out)["status"] == "closed"
    with desk.reader() as s:
        assert tickets.get(s, ref).close_reason == "final_response"
    code, out, _ = cli("ticket", "close", ref, "--reason", "accepted")
    assert code == 2


def test_set_completes_missing_details(cli, desk):
    ref = new_complaint(desk, phone=None)
    code, out, _ = cli("ticket", "set", ref, "phone", "+372 5123 4567")
    assert code == 0 and json.loads(out)["changed"] == ["phone"]
    code, out, _ = cli("ticket", "show", ref)
    assert json.loads(out)["info_needed"] is None
    code, _out, err = cli("ticket", "set", ref, "priority", "high")
    assert code == 2 and "priority must be" in err


def test_reply_request_info_and_assign_from_the_shell(cli, desk):
    """Each command reaches its own service with its own argument (TEXT, LOGIN)."""
    add_staff(desk, "alice", "agent")
    add_staff(desk, "olivia", "supervisor")
    ref = new_complaint(desk)
    assert cli("ticket", "ack", ref)[0] == 0
    code, out, _ = cli("ticket", "reply", ref, "We are looking into it today.")
    assert code == 0 and json.loads(out)["status"] == "acknowledged"
    code, out, _ = cli("ticket", "request-info", ref, "Which phone model do you use?")
    assert code == 0 and json.loads(out)["status"] == "information_gathering"
    code, _out, err = cli("ticket", "assign", ref, "alice")
    assert code == 2 and len(err.strip().splitlines()) == 1  # an agent may not assign
    code, out, _ = cli("--as", "olivia", "ticket", "assign", ref, "alice")
    assert code == 0
    code, out, _ = cli("ticket", "show", ref)
    shown = json.loads(out)
    assert shown["assignee"] == "alice"
    sent = [i for i in shown["timeline"] if i["kind"] == "outbound"]
    assert any("We are looking into it today." in i["text"] and i["text"].count("Dear ") == 1 for i in sent)
    assert any("Which phone model do you use?" in i["text"] for i in sent)
