"""Attachments are listed on the ticket as evidence (issue 6, "Contents"):
name, type and size, the name inert however hostile, the bytes never loaded."""

from __future__ import annotations

import base64
from email.header import Header

import pytest

from conftest import FROZEN_NOW
from console_helpers import make_app, open_by_filter, screen_text
from mail_helpers import DATA

HOSTILE_NAME = "[@click=app.quit]x[/] \x1b[2J\x1b]52;c;aGk=\x07\u202egnp.exe"


def _hostile_attachment_eml() -> bytes:
    png = (DATA / "screenshot.png").read_bytes()
    name = Header(HOSTILE_NAME, "utf-8").encode()
    return (
        "From: Kai Tamm <kai@example.com>\nTo: complaints@esimdesk.example\n"
        "Subject: Complaint Regarding eSIM Service\nDate: Mon, 23 Nov 2026 08:00:00 +0000\n"
        "Message-ID: <evidence-1@example.com>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n\n'
        "--b\nContent-Type: text/plain; charset=utf-8\n\nNo service since 19 November 2026, screenshot attached.\n"
        f'--b\nContent-Type: image/png\nContent-Disposition: attachment; filename="{name}"\n'
        "Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(png).decode() + "--b--\n"
    ).encode()


def _ingest(desk, tmp_path) -> str:
    from app.config import DeskConfig
    from app.mail.ingest import ingest_paths

    path = tmp_path / "evidence.eml"
    path.write_bytes(_hostile_attachment_eml())
    summary = ingest_paths(desk, [path], now=FROZEN_NOW, config=DeskConfig())
    (item,) = summary.items
    assert item.result == "created"
    return item.ticket


async def test_ticket_detail_lists_attachments_inert(demo_desk, tmp_path):
    reference = _ingest(demo_desk, tmp_path)
    app = make_app(demo_desk)
    async with app.run_test(size=(160, 50)) as pilot:
        await open_by_filter(pilot, reference)
        assert app.screen.reference == reference
        text = screen_text(app)
        assert "Evidence" in text and "image/png" in text and "73 B" in text
        assert f"save: esimdesk ticket attachment {reference} ID" in text
        assert "[@click=app.quit]x[/]" in text  # shown as the characters it is
        assert "\x1b" not in text and "\u202e" not in text
        assert app.is_running  # the click markup did nothing


@pytest.mark.parametrize("size", [(160, 50), (80, 24)], ids=["160x50", "80x24"])
def test_snap_ticket_detail_with_hostile_attachment(snap_compare, demo_desk, tmp_path, size):
    reference = _ingest(demo_desk, tmp_path)

    async def before(pilot):
        await open_by_filter(pilot, reference)

    assert snap_compare(make_app(demo_desk), terminal_size=size, run_before=before)
