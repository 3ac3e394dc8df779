"""Hostile subjects, names, bodies and attachment names: stored as received, shown inert."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from rich.text import Text
from sqlalchemy import select

from app.mail.ingest import ingest_paths
from app.untrusted import inert
from mail_helpers import CONFIG, DATA, NOW, new_desk
from models import Attachment, Customer, Message, Ticket

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HOSTILE = [
    "[bold]Evil[/bold]",
    "[@click=app.quit]Click[/]",
    "\x1b[2J\x1b[H wipe",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07 clipboard",
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "\u202egnp.exe",
    "\x9b31m eight-bit CSI",
    "\x1bP+q544e\x1b\\ DCS",
    "nul\x00byte",
]


@pytest.fixture()
def desk(tmp_path):
    d = new_desk(tmp_path)
    yield d
    d.dispose()


def test_hostile_fixture_stored_as_received_and_inert_for_display(desk):
    raw = (DATA / "hostile.eml").read_bytes()
    (item,) = ingest_paths(desk, [DATA / "hostile.eml"], now=NOW, config=CONFIG).items
    assert item.result == "created"
    with desk.session() as s:
        msg = s.scalars(select(Message)).one()
        t = s.scalars(select(Ticket)).one()
        c = s.get(Customer, t.customer_id)
    # stored exactly as received
    assert msg.subject == "[@click=app.quit]Click[/] \x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07 \u202egnp.exe"
    assert msg.subject.encode() in raw
    assert msg.body.startswith("[link=https://evil.example]free money[/link] \x1b[2J")
    assert msg.from_name == "[bold]Evil[/bold] \x1b[31mCorp" and c.name == msg.from_name
    assert t.subject == msg.subject
    # what a screen gets
    for text in (msg.subject, msg.body, msg.from_name, t.subject, c.name):
        shown = inert(text)
        assert not CONTROL.search(shown) and "\x1b" not in shown
        assert "ZWNobyBwd25lZA" not in shown and "cm0gLXJmIH4" not in shown  # OSC payloads go with their sequence
        # handed to Rich as Text (never markup), brackets stay literal text
        assert Text(shown).plain == shown
    assert inert(msg.subject) == "[@click=app.quit]Click[/]  gnp.exe"
    assert "[link=https://evil.example]free money[/link]" in inert(msg.body)


@pytest.mark.parametrize("payload", HOSTILE)
def test_each_hostile_payload_in_subject_body_and_attachment_name(desk, tmp_path, payload):
    em = EmailMessage()
    em["From"] = "x@example.com"
    em["Subject"] = f"Complaint {payload}"
    em.set_content(f"body {payload}\n")
    em.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename=f"shot{payload}.png")
    f = tmp_path / "h.eml"
    f.write_bytes(em.as_bytes())
    (item,) = ingest_paths(desk, [f], now=NOW, config=CONFIG).items
    assert item.result == "created"
    with desk.session() as s:
        msg = s.scalars(select(Message)).one()
        att = s.scalars(select(Attachment)).one()
    stored_payload = payload.replace("\x00", "\ufffd")  # NUL is the one thing no column holds
    assert stored_payload in msg.body
    for text in (msg.subject, msg.body, att.filename):
        shown = inert(text)
        assert not CONTROL.search(shown)
        assert "\x1b" not in shown and "\x9b" not in shown
    assert inert(msg.subject, single_line=True).startswith("Complaint")
