"""`esimdesk ticket assign|note|close|triage` with several REFs: each ticket
through the same service; each one changed prints the single command's JSON
summary, each refusal one line on stderr; exit 2 when any was refused. One
REF is the single command, unchanged."""

from __future__ import annotations

import json

import pytest

from test_workflow_cli import cli  # noqa: F401 - the same shell runner
from workflow_helpers import add_staff, new_complaint, walk


@pytest.fixture(autouse=True)
def _staff(cli, desk):
    add_staff(desk, "olivia", "supervisor")
    add_staff(desk, "alice", "agent")


def test_assign_several_refs(cli, desk):
    a, b = new_complaint(desk), new_complaint(desk, email="b@example.com")
    code, out, err = cli("--as", "olivia", "ticket", "assign", a, b, "alice")
    assert code == 0 and err == ""
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["reference"] for line in lines] == [a, b]
    assert set(lines[0]) == {"reference", "kind", "status", "version", "due_at", "due_clock", "close_reason"}
    for ref in (a, b):
        assert json.loads(cli("ticket", "show", ref)[1])["assignee"] == "alice"


def test_close_several_refs_partial_refusal(cli, desk):
    from app.identity import resolve_actor

    with desk.reader() as s:
        sup = resolve_actor(s, "olivia")
    told, early = new_complaint(desk), new_complaint(desk, email="e@example.com")
    walk(desk, told, sup, "resolution_communicated")
    code, out, err = cli("--as", "olivia", "ticket", "close", told, early, "NOPE-1", "--reason", "accepted")
    assert code == 2
    assert [json.loads(line)["reference"] for line in out.splitlines()] == [told]
    errs = err.strip().splitlines()
    assert len(errs) == 2 and errs[0].startswith(f"{early}: ") and errs[1].startswith("NOPE-1: ")
    assert json.loads(cli("ticket", "show", early)[1])["status"] == "submitted"


def test_note_several_refs_and_one_ref_unchanged(cli, desk):
    a, b = new_complaint(desk), new_complaint(desk, email="n@example.com")
    code, out, _ = cli("ticket", "note", a, b, "Carrier outage.")
    assert code == 0 and len(out.splitlines()) == 2
    code, out, _ = cli("ticket", "note", a, "Still down.")
    assert code == 0 and json.loads(out)["reference"] == a
    code, _out, err = cli("ticket", "note", a, b, "x", "--version", "3")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "one REF" in err
