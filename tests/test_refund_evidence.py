"""The chargeback evidence pack, from a real (SQLite) desk database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.db import open_desk
from app.errors import InputError, NotFound
from app.refunds.evidence import write_evidence_pack
from models import Customer, Message, Order, RefundCase, Ticket, TicketEvent


def at(day, hour=9):
    return datetime(2025, 3, day, hour, tzinfo=UTC)


@pytest.fixture()
def desk(tmp_path):
    d = open_desk(f"sqlite:///{tmp_path / 'desk.db'}")
    with d.session() as s:
        c = Customer(name="Mari Maasikas", email="mari@example.com", created_at=at(1))
        s.add(c)
        s.flush()
        o = Order(
            number="ORD-1234567890-ABCD",
            customer_id=c.id,
            brand="esimium",
            purchased_at=at(10),
            amount=Decimal("19.90"),
            currency="EUR",
            plan="Europe 5 GB",
            delivered_at=at(10, 10),
            installed=True,
            activated=True,
            data_used_mb=812.5,
        )
        s.add(o)
        s.flush()
        t = Ticket(
            reference="RFD-000001",
            kind="refund",
            status="decided",
            subject="refund",
            received_at=at(12),
            customer_id=c.id,
            order_id=o.id,
            created_at=at(12),
            updated_at=at(13),
            brand="esimium",
        )
        s.add(t)
        s.flush()
        s.add(
            RefundCase(
                ticket_id=t.id,
                policy="esimium",
                policy_version="esimium-2024-01-01",
                outcome="denied",
                chargeback_filed=True,
                decision=json.dumps({"sections": ["3.1"], "explanation": "Activated: 3.1."}),
            )
        )
        s.add(
            Message(
                ticket_id=t.id,
                kind="inbound",
                from_addr="mari@example.com",
                subject="Refund *now*",
                body="It never worked\x1b[31m ```` fake fence\nsecond line",
                created_at=at(12),
                sent_at=at(12),
            )
        )
        s.add(
            Message(
                ticket_id=t.id,
                kind="note",
                author="agent1",
                body="INTERNAL: customer seems upset",
                created_at=at(12, 10),
            )
        )
        s.add(
            Message(
                ticket_id=t.id,
                kind="outbound",
                author="agent1",
                to_addr="mari@example.com",
                subject="Re: Refund",
                body="Our records show 812.5 MB used.",
                created_at=at(13),
                delivery="sent",
            )
        )
        s.add(TicketEvent(ticket_id=t.id, at=at(12), action="created", to_status="submitted"))
        s.add(
            TicketEvent(
                ticket_id=t.id,
                at=at(13),
                actor="agent1",
                action="status",
                from_status="under_review",
                to_status="decided",
            )
        )
    yield d
    d.dispose()


def test_markdown_pack(desk, tmp_path):
    out = tmp_path / "pack.md"
    with desk.reader() as s:
        assert write_evidence_pack(s, "RFD-000001", out) == out
    text = out.read_text()
    for needle in (
        "# Chargeback evidence pack: RFD-000001",
        "## Purchase record",
        "ORD-1234567890-ABCD",
        "19.90 EUR",
        "## Delivery confirmation",
        "2025-03-10 10:00:00 UTC",
        "## Usage data",
        "812.5",
        "## Communication history (2 messages",
        "From the customer, 2025-03-12 09:00:00 UTC",
        "To the customer, 2025-03-13 09:00:00 UTC",
        "## Timeline (2 events)",
        "under\\_review",
        "Chargeback filed | yes",
        "Activated: 3.1.",
        "Refund \\*now\\*",
    ):
        assert needle in text, needle
    assert "INTERNAL" not in text  # internal notes are not customer communication
    assert "\x1b" not in text
    assert "`````text\nIt never worked[31m ```` fake fence\nsecond line\n`````" in text  # fence outgrows the body's


def test_pdf_pack(desk, tmp_path):
    out = tmp_path / "pack.pdf"
    with desk.reader() as s:
        write_evidence_pack(s, "RFD-000001", out, fmt="pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    assert b"ORD-1234567890-ABCD" in data
    xref = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[xref : xref + 4] == b"xref"


def test_unknown_ticket_and_format(desk, tmp_path):
    with desk.reader() as s:
        with pytest.raises(NotFound):
            write_evidence_pack(s, "RFD-999999", tmp_path / "x.md")
        with pytest.raises(InputError):
            write_evidence_pack(s, "RFD-000001", tmp_path / "x.doc", fmt="doc")
        with pytest.raises(InputError, match="cannot write"):
            write_evidence_pack(s, "RFD-000001", tmp_path / "missing-dir" / "x.md")


def _cli() -> list[str]:
    import importlib.util
    import sys
    from pathlib import Path

    from app.cli import main as cli_main

    script = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "esimdesk"
    if script.exists() and all(importlib.util.find_spec(m) for m in cli_main.COMMAND_MODULES):
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys, app.cli.main as m; m.COMMAND_MODULES = ('app.cli.refund_cmd',); sys.exit(m.main(sys.argv[1:]))",
    ]


def test_cli_evidence_for_staff_only(desk, tmp_path):
    import importlib.util
    import os
    import pwd
    import subprocess
    from pathlib import Path

    if importlib.util.find_spec("app.identity") is None:
        pytest.skip("app.identity (staff look-up) not written yet")
    from models import Staff

    root = Path(__file__).resolve().parent.parent
    env = {
        **{k: v for k, v in os.environ.items() if k != "ESIMDESK_CONFIG"},
        "ESIMDESK_DB": desk.url,
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PYTHONPATH": str(root),
    }
    out = tmp_path / "cli-pack.md"
    refused = subprocess.run(
        [*_cli(), "refund", "evidence", "RFD-000001", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert refused.returncode == 2 and not out.exists()
    with desk.session() as s:
        s.add(Staff(login=pwd.getpwuid(os.getuid()).pw_name, name="Test Agent", role="agent", created_at=at(1)))
    ok = subprocess.run(
        [*_cli(), "refund", "evidence", "RFD-000001", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "## Communication history" in out.read_text()
    missing = subprocess.run(
        [*_cli(), "refund", "evidence", "RFD-404"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert missing.returncode == 2 and "RFD-404" in missing.stderr and missing.stdout == ""
