"""`esimdesk refund decide --order ORDER [--reason R] [--facts FILE]`
(the shared orders contract "Decide from an order"), through the real command."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.db import open_desk
from app.orders.importer import import_orders
from app.refunds import decide

ROOT = Path(__file__).resolve().parent.parent
ESIMDESK = ROOT / ".venv" / "bin" / "esimdesk"
ORDER = {
    "order_number": "ORD-2026112001-ABCD",
    "policy": "airalo",
    "customer_email": "ann@example.com",
    "purchase_at": "2026-11-20T10:00:00Z",
    "amount_paid": 19.9,
    "currency": "EUR",
    "payment_method": "paypal",
    "quantity": 1,
    "delivered_at": "2026-11-20T10:05:00Z",
    "installed": False,
    "activated": False,
    "data_used_mb": 0,
    "validity_ends_at": "2026-11-21T10:00:00Z",
}


@pytest.fixture()
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'desk.sqlite'}"
    (tmp_path / "orders.jsonl").write_text(json.dumps(ORDER) + "\n")
    d = open_desk(url)
    import_orders(d.engine, [str(tmp_path / "orders.jsonl")], now=datetime(2026, 11, 20, 11, tzinfo=UTC))
    d.dispose()
    return url


def run(db, *args, stdin=None):
    return subprocess.run(
        [str(ESIMDESK), "--db", db, "refund", "decide", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def test_facts_from_the_order_with_the_agents_reason_and_file_on_top(db, tmp_path):
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(
        json.dumps({"request_at": "2026-11-20T12:00:00Z", "installed": True, "reason": "no_longer_needed"})
    )
    p = run(db, "--order", "ord-2026112001-abcd", "--reason", "non_delivery", "--facts", str(facts_file))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    facts_from = out.pop("facts_from")
    assert facts_from == {
        "purchase_at": "order",
        "amount_paid": "order",
        "currency": "order",
        "payment_method": "order",
        "customer_type": "order",
        "quantity": "order",
        "delivered_at": "order",
        "installed": "agent",
        "activated": "order",
        "data_used_mb": "order",
        "validity_expired": "order",
        "request_at": "agent",
        "reason": "agent",
    }
    expected = decide(
        "airalo",
        {
            **{
                k: ORDER[k]
                for k in (
                    "purchase_at",
                    "amount_paid",
                    "currency",
                    "payment_method",
                    "quantity",
                    "delivered_at",
                    "activated",
                    "data_used_mb",
                )
            },
            "customer_type": "end_user",
            "validity_expired": False,
            "request_at": "2026-11-20T12:00:00Z",
            "installed": True,
            "reason": "no_longer_needed",
        },
    )
    assert out == expected  # the policy is the order's; FILE won over --reason and over the order


def test_validity_expired_is_derived_at_the_request_time(db, tmp_path):
    (tmp_path / "f.json").write_text(json.dumps({"request_at": "2026-11-22T12:00:00Z"}))
    p = run(db, "--order", "ORD-2026112001-ABCD", "--reason", "unused_data", "--facts", str(tmp_path / "f.json"))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["facts_from"]["validity_expired"] == "order"
    p2 = run(
        db,
        "--order",
        "ORD-2026112001-ABCD",
        "--reason",
        "unused_data",
        "--facts",
        "-",
        stdin=json.dumps({"request_at": "2026-11-22T12:00:00Z", "validity_expired": False}),
    )
    assert json.loads(p2.stdout)["facts_from"]["validity_expired"] == "agent"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--order", "ORD-0000000000-NONE", "--reason", "other"), "no order 'ORD-0000000000-NONE' on this desk"),
        (("--order", "ORD-2026112001-ABCD"), "reason: required"),
        (("--order", "ORD-2026112001-ABCD", "--reason", "because"), "--reason 'because' is not a reason"),
        (("--order", "ORD-2026112001-ABCD", "--policy", "airalo"), "takes the policy from the order"),
        (("--policy", "airalo"), "give --policy and --facts, or --order"),
    ],
)
def test_bad_input_is_exit_2_and_one_line(db, args, message):
    p = run(db, *args)
    assert p.returncode == 2 and p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and message in p.stderr
