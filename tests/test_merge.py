"""Merging two tickets of one customer (app/workflow/merge.py), on the desk's
engine (SQLite, and PostgreSQL in the suite's pg pass): what moves, the
clocks, the redirect (lookup, intake, lock), no duplicate mail, drafts, the
refusals, and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import history, tickets
from app.cli.main import main
from app.drafts import DraftKey
from app.drafts import get as draft_get
from app.drafts import put as draft_put
from app.errors import AccessDenied, IllegalTransition, InputError
from app.identity import os_login
from app.search import search
from app.workflow import acknowledge, add_note, create_inquiry, ineligibility, merge, timeline
from app.workflow.merge import candidates
from models import DeskSetting, Message, Ticket
from models.enums import DeliveryState, MessageKind
from workflow_helpers import CONFIG, T0, VALID, at, new_complaint, team, walk


def _t(desk, ref: str) -> Ticket:
    with desk.reader() as s:
        t = tickets.get(s, ref)
        s.expunge(t)
        return t


def _merge(desk, actor, b: str, a: str, m: int = 500, **kw):
    with desk.session() as s:
        return merge(s, actor, b, a, now=at(m), config=CONFIG, **kw)


def test_messages_notes_and_history_join_the_survivor_and_the_reference_leads_there(desk):
    staff = team(desk)
    alice = staff["alice"]
    a = new_complaint(desk, description="Complaint one: eSIM will not activate in Osaka.")
    b = new_complaint(desk, received_at=T0 + timedelta(hours=1), description="Second mail about the same eSIM.")
    with desk.session() as s:
        add_note(s, alice, b, "customer also called about zebrafinch routing", now=at(70))
    out = _merge(desk, alice, b, a, 80)
    assert (out.merged, out.into, out.notes) == (b, a, 1)
    tb, ta = _t(desk, b), _t(desk, a)
    assert tb.status == "closed" and tb.close_reason == "merged" and tb.merged_into_id == ta.id
    with desk.reader() as s:
        assert tickets.resolve(s, b).reference == a and tickets.survivor_reference(s, b.lower()) == a
        assert s.scalar(select(Message.ticket_id).where(Message.body.like("%zebrafinch%"))) == ta.id
        # history: each ticket records the merge; B's events read with A's, marked with B's reference
        assert [e.action for e in history.events(s, tb.id)][-1] == "merged_into"
        own = [e.action for e in history.events(s, ta.id) if e.ticket_id == ta.id]
        assert own[-1] == "merged"
        lines = [i.text for i in timeline(s, ta.id) if i.kind == "event"]
        assert any(line.startswith(f"{b}: internal note") for line in lines) and any(
            "from: " + b in line for line in lines
        )
        assert "alice" in history.handlers(s, ta.id)
        # the search index followed the note
        assert [h.reference for h in search(s, "zebrafinch")] == [a]
    with desk.session() as s, pytest.raises(IllegalTransition, match=f"{b} was merged into {a}"):
        add_note(s, alice, b, "too late", now=at(90))


def test_the_survivor_keeps_the_earliest_clocks(desk):
    """An earlier, unacknowledged B: A's acknowledgment is judged from B's receipt."""
    alice = team(desk)["alice"]
    b = new_complaint(desk)  # Monday 10:00
    a = new_complaint(desk, received_at=T0 + timedelta(days=3))  # Thursday
    walk(desk, a, alice, "acknowledged", start=60 * 24 * 3 + 10)
    before = _t(desk, a)
    tb = _t(desk, b)
    out = _merge(desk, alice, b, a, 60 * 24 * 3 + 60)
    ta = _t(desk, a)
    assert ta.received_at == tb.received_at and ta.ack_due_at == tb.ack_due_at < before.ack_due_at
    assert ta.acknowledged_at == before.acknowledged_at and ta.resolution_due_at == before.resolution_due_at
    assert set(out.changed) >= {"received_at", "ack_due_at"}
    with desk.reader() as s:
        merged = [e for e in history.events(s, ta.id) if e.action == "merged" and e.ticket_id == ta.id][0]
        assert "received_at" in history.detail_of(merged)["clocks"]


def test_a_queued_acknowledgment_is_not_sent_twice(desk, tmp_path):
    from app.mail.outbox import deliver

    alice = team(desk)["alice"]
    a = new_complaint(desk)
    b = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    for ref, m in ((a, 10), (b, 11)):
        with desk.session() as s:
            acknowledge(s, alice, ref, now=at(m), config=CONFIG)
    out = _merge(desk, alice, b, a, 20)
    assert out.withdrawn == ("acknowledgment",)
    cfg = replace(CONFIG, outbox_maildir=str(tmp_path / "out"))
    with desk.reader() as s:
        acks = s.scalars(
            select(Message).where(Message.template == "acknowledgment", Message.kind == MessageKind.OUTBOUND.value)
        ).all()
        assert len(acks) == 1 and acks[0].ticket_id == _t(desk, a).id
        assert [e.action for e in history.events(s, _t(desk, b).id)][-2] == "mail_recalled"
    summary = deliver(desk, cfg, now=at(30), db_url=f"sqlite:///{tmp_path}/x.sqlite")
    assert summary.as_dict()["sent"] == 1
    with desk.reader() as s:
        assert (
            s.scalar(select(Message.delivery).where(Message.template == "acknowledgment")) == DeliveryState.SENT.value
        )


def test_a_customer_reply_quoting_the_merged_reference_lands_on_the_survivor(desk):
    from app.mail.ingest import ingest_raw
    from app.mail.sources import RawMessage
    from mail_helpers import eml

    alice = team(desk)["alice"]
    a = new_complaint(desk)
    b = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    _merge(desk, alice, b, a, 20)
    raw = eml(f"Re: [{b}] my eSIM", "Any news on this?", sender=VALID["email"], msgid="<r1@example.com>")
    item = ingest_raw(desk, RawMessage("reply.eml", raw, None), now=at(30), config=CONFIG)
    assert (item.result, item.ticket) == ("linked", a)


def test_drafts_move_or_are_dropped_with_a_notice(desk):
    staff = team(desk)
    alice, bob = staff["alice"], staff["bob"]
    a = new_complaint(desk)
    b = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    ta, tb = _t(desk, a), _t(desk, b)
    with desk.session() as s:
        draft_put(s, DraftKey(ta.id, alice.id, "reply"), "my reply on A", at(1))
        draft_put(s, DraftKey(tb.id, alice.id, "reply"), "my reply on B", at(1))
        draft_put(s, DraftKey(tb.id, bob.id, "note"), "bob's note on B", at(1))
    out = _merge(desk, staff["olivia"], b, a, 20)
    assert out.drafts_moved == 1 and out.drafts_dropped == ("alice: reply",)
    assert "draft dropped: alice: reply" in out.summary()
    with desk.reader() as s:
        assert draft_get(s, DraftKey(ta.id, alice.id, "reply")) == "my reply on A"
        assert draft_get(s, DraftKey(ta.id, bob.id, "note")) == "bob's note on B"
        assert draft_get(s, DraftKey(tb.id, bob.id, "note")) is None


def test_refusals_are_one_line_each(desk):
    staff = team(desk)
    alice, bob = staff["alice"], staff["bob"]
    a = new_complaint(desk)
    other = new_complaint(desk, email="someone.else@example.com")
    with pytest.raises(IllegalTransition, match="different customers"):
        _merge(desk, alice, other, a)
    with desk.session() as s:
        inq = create_inquiry(
            s,
            received_at=at(1),
            subject="question",
            description="?",
            email=VALID["email"],
            name="Maria Tamm",
            config=CONFIG,
        ).reference
    with pytest.raises(IllegalTransition, match="a complaint joins only a complaint"):
        _merge(desk, alice, a, inq)
    with pytest.raises(InputError, match="into itself"):
        _merge(desk, alice, a, a)
    ahead = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    walk(desk, ahead, alice, "investigation")
    with pytest.raises(IllegalTransition, match=f"merge {a} into {ahead} instead"):
        _merge(desk, alice, ahead, a)
    with desk.session() as s:  # bob's ticket: not alice's to merge
        from app.workflow import assign

        assign(s, bob, a, "bob", now=at(100), config=CONFIG)
    with pytest.raises(AccessDenied, match="supervisor"):
        _merge(desk, alice, inq, a)
    with pytest.raises(AccessDenied):
        _merge(desk, staff["adam"], inq, a)  # an admin does not work tickets
    _merge(desk, staff["olivia"], inq, a, 200)  # a supervisor may: an inquiry joins a complaint
    with pytest.raises(IllegalTransition, match=f"{inq} was merged into {a}"):
        _merge(desk, staff["olivia"], inq, ahead, 210)
    # escalations and escalated complaints are never merged
    esc_of = new_complaint(desk, received_at=T0 + timedelta(minutes=9))
    walk(desk, esc_of, alice, "escalated")
    with pytest.raises(IllegalTransition, match="escalated"):
        _merge(desk, staff["olivia"], esc_of, ahead, 300)
    with desk.reader() as s:
        esc = s.scalars(select(Ticket).where(Ticket.kind == "escalation")).one().reference
    with pytest.raises(IllegalTransition, match="an escalation is never merged"):
        _merge(desk, staff["olivia"], ahead, esc, 310)


def test_candidates_are_the_customers_other_open_tickets_it_may_join(desk):
    staff = team(desk)
    alice = staff["alice"]
    a = new_complaint(desk)
    b = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    ahead = new_complaint(desk, received_at=T0 + timedelta(minutes=9))
    walk(desk, ahead, alice, "investigation")
    new_complaint(desk, email="someone.else@example.com")
    with desk.reader() as s:
        assert [c.reference for c in candidates(s, tickets.get(s, b), alice)] == [a, ahead]
        assert [c.reference for c in candidates(s, tickets.get(s, ahead), alice)] == []  # both others are behind it


def test_chains_flatten_and_the_impartial_reviewer_sees_merged_history(desk):
    staff = team(desk)
    alice, olivia = staff["alice"], staff["olivia"]
    a = new_complaint(desk)
    b = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    c = new_complaint(desk, received_at=T0 + timedelta(minutes=6))
    with desk.session() as s:
        add_note(s, staff["sam"], c, "the senior had a look at this one", now=at(7))
    _merge(desk, olivia, c, b, 10)
    _merge(desk, olivia, b, a, 20)
    assert _t(desk, c).merged_into_id == _t(desk, a).id
    walk(desk, a, alice, "escalated", start=30)
    with desk.reader() as s:
        esc = s.scalars(select(Ticket).where(Ticket.kind == "escalation")).one()
        why = ineligibility(s, esc, staff["sam"])
        assert why is not None and "acted on" in why and why.code == "handled"
        assert ineligibility(s, esc, staff["sara"]) is None


def test_refund_requests_of_one_order_merge_and_the_second_acknowledgment_is_withdrawn(desk):
    from app.mail.ingest import ingest_raw
    from app.mail.sources import RawMessage
    from mail_helpers import eml

    olivia = team(desk)["olivia"]
    first = ingest_raw(
        desk,
        RawMessage(
            "1.eml",
            eml("Refund Request ORD-1234567890-ABCD", "Please refund, it never worked.", msgid="<a1@example.com>"),
            None,
        ),
        now=at(0),
        config=CONFIG,
    )
    second = ingest_raw(
        desk,
        RawMessage(
            "2.eml", eml("Refund Request ORD-1234567890-ABCD", "Refund please!!", msgid="<a2@example.com>"), None
        ),
        now=at(5),
        config=CONFIG,
    )
    a, b = first.ticket, second.ticket
    assert a != b and a.startswith("RFD-")
    with desk.reader() as s:
        queued = s.scalars(
            select(Message.template).where(Message.kind == "outbound", Message.delivery == "queued")
        ).all()
    out = _merge(desk, olivia, b, a, 10)
    assert set(out.withdrawn) <= set(queued) and out.withdrawn
    with desk.reader() as s:
        left = s.scalars(select(Message.template).where(Message.kind == "outbound")).all()
        assert sorted(left) == sorted(set(queued))  # one of each: nothing twice
        assert s.scalar(select(Message.ticket_id).where(Message.body.like("%Refund please%"))) == _t(desk, a).id


# -- the CLI --------------------------------------------------------------------------------
@pytest.fixture
def cli(desk, desk_url, capsys):
    team(desk)
    from workflow_helpers import add_staff

    add_staff(desk, os_login(), "agent")
    with desk.session() as s:
        s.add(DeskSetting(key="demo", value="true"))

    def run(*argv):
        try:
            code = main(["--db", desk_url, *argv])
        except SystemExit as exc:  # argparse's own refusals
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_merge_then_show_redirects(cli, desk):
    a = new_complaint(desk)
    b = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    v = _t(desk, b).version
    code, out, err = cli("ticket", "merge", b.lower(), "--into", a, "--version", str(v))
    assert code == 0, err
    done = json.loads(out)
    assert (done["reference"], done["status"], done["close_reason"], done["into"]) == (b, "closed", "merged", a)
    code, out, _ = cli("ticket", "show", b)
    shown = json.loads(out)
    assert code == 0 and shown["reference"] == a and shown["redirected_from"] == b and shown["merged_from"] == [b]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["ticket", "merge", "CMP-2026-999999", "--into", "{a}"], "no ticket"),
        (["ticket", "merge", "{a}", "--into", "{a}"], "into itself"),
        (["ticket", "merge", "{b}", "--into", "{other}"], "different customers"),
        (["ticket", "merge", "{b}", "--into", "{a}", "--version", "99"], "was changed by"),
        (["ticket", "merge", "{b}", "--into", "{a}", "--into-version", "-3"], "out of range"),
        (["ticket", "merge", "{b}"], "--into"),
        (["ticket", "close", "{b}", "--reason", "merged"], "only through `merge`"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(cli, desk, argv, words):
    refs = {
        "a": new_complaint(desk),
        "b": new_complaint(desk, received_at=T0 + timedelta(minutes=5)),
        "other": new_complaint(desk, email="x@example.org"),
    }
    code, out, err = cli(*[w.format(**refs) for w in argv])
    assert code == 2 and out == "" and words in err and len(err.strip().splitlines()) == 1
    assert _t(desk, refs["b"]).merged_into_id is None


def test_export_names_the_survivor_and_counts_the_merged_tickets_handlers(desk):
    from app.export import iter_tickets

    staff = team(desk)
    a = new_complaint(desk)
    b = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    with desk.session() as s:
        add_note(s, staff["bob"], b, "bob looked at it", now=at(6))
    _merge(desk, staff["olivia"], b, a, 20)
    with desk.reader() as s:
        rows = {r["reference"]: r for r in iter_tickets(s, now=at(30))}
    assert rows[b]["merged_into"] == a and rows[a]["merged_into"] is None and rows[b]["close_reason"] == "merged"
    assert {"bob", "olivia"} <= set(rows[a]["handlers"]) and "bob" in rows[b]["handlers"]


def test_the_queue_filter_finds_the_survivor_by_the_merged_reference(desk):
    from app.queue_query import QueueQuery, count, page

    staff = team(desk)
    a = new_complaint(desk)
    b = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    _merge(desk, staff["olivia"], b, a, 20)
    with desk.reader() as s:
        q = QueueQuery(view="unassigned", text=b)  # an open view: B itself is closed
        assert [r.reference for r in page(s, q, at(30), 0, 10)] == [a] and count(s, q, at(30)) == 1
        assert [r.reference for r in page(s, QueueQuery(view="all", text=b), at(30), 0, 10)] == [a, b]


def test_an_escalation_quoting_the_merged_reference_escalates_the_survivor(desk):
    from app.mail.ingest import ingest_raw
    from app.mail.sources import RawMessage
    from mail_helpers import eml

    staff = team(desk)
    a = new_complaint(desk)
    b = new_complaint(desk, received_at=T0 + timedelta(minutes=5))
    m = walk(desk, a, staff["alice"], "resolution_communicated")
    _merge(desk, staff["alice"], b, a, m + 10)
    raw = eml(
        f"Escalation: {b}", "I am not satisfied with the resolution.", sender=VALID["email"], msgid="<e1@example.com>"
    )
    item = ingest_raw(desk, RawMessage("esc.eml", raw, None), now=at(m + 20), config=CONFIG)
    assert item.result == "created" and item.ticket.startswith("ESC-")
    assert _t(desk, a).status == "escalated" and _t(desk, item.ticket).escalation_of_id == _t(desk, a).id
