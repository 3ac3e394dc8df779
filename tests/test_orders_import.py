"""`esimdesk orders import` (the shared orders contract "Import"): exact summaries,
every kind of bad row named with its line and field, idempotence, and an
update kept in the order's history."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.errors import InputError
from app.orders.facts import order_as_of, order_by_number, order_history
from app.orders.importer import import_orders
from models import Customer, Order, OrderHistory

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 30, 10, 2, tzinfo=UTC)
LATER = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
HEADER = (
    "order_number,policy,customer_email,customer_name,purchase_at,amount_paid,currency,payment_method,"
    "customer_type,quantity,product,delivered_at,installed,activated,data_used_mb,validity_ends_at,"
    "invoice_received_at,reseller"
)
GOOD = (
    "ORD-2026112001-ABCD,esimium,ann@example.com,Ann Tamm,2026-11-20T10:00:00,19.90,EUR,card,end_user,1,"
    "Japan 5 GB 30 days,2026-11-20T10:05:00Z,true,false,0,2026-12-20T10:00:00+02:00,,"
)


def write(path: Path, *lines: str) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def jrow(**over) -> str:
    row = {
        "order_number": "ORD-2026112002-EFGH",
        "policy": "airalo",
        "customer_email": "bob@example.com",
        "purchase_at": "2026-11-21T08:00:00Z",
        "amount_paid": 9,
        "currency": "usd",
    }
    row.update(over)
    return json.dumps({k: v for k, v in row.items() if v is not ...})


def run(desk, *paths, now=NOW) -> dict:
    return import_orders(desk.engine, [str(p) for p in paths], now=now).as_dict()


def test_contract_example_shape_and_counts(desk, tmp_path):
    csv_path = write(
        tmp_path / "orders.csv", HEADER, GOOD, "ORD-2026112003-JKLM,esimium,cy@example.com,,31/02/2026,5,EUR,,,,,,,,,,,"
    )
    jsonl = write(tmp_path / "orders.jsonl", jrow(), "", jrow(order_number="ORD-2026112004-NPQR", amount_paid=0))
    out = run(desk, csv_path, jsonl)
    assert out == {
        "read": 4,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "errors": [{"path": csv_path, "line": 3, "field": "purchase_at", "reason": "not a date-time: '31/02/2026'"}],
    }
    assert out["read"] == out["created"] + out["updated"] + out["unchanged"] + out["rejected"]
    with desk.reader() as s:
        o = order_by_number(s, "ORD-2026112001-ABCD")
        assert (o.brand, float(o.amount), o.currency, o.plan, o.installed, o.activated) == (
            "esimium",
            19.9,
            "EUR",
            "Japan 5 GB 30 days",
            True,
            False,
        )
        assert o.purchased_at == datetime(2026, 11, 20, 10, tzinfo=UTC)  # no offset: UTC
        assert o.validity_ends_at == datetime(2026, 12, 20, 8, tzinfo=UTC)
        assert (o.source, o.refreshed_at, o.revision) == ("import", NOW, 1)
        assert s.get(Customer, o.customer_id).name == "Ann Tamm"
        b = order_by_number(s, "ORD-2026112002-EFGH")
        assert (b.currency, b.payment_method, b.quantity, b.customer_type) == ("USD", "card", 1, "end_user")


@pytest.mark.parametrize(
    ("cells", "field", "reason"),
    [
        ({"order_number": ""}, "order_number", "required"),
        ({"order_number": "ORD 1"}, "order_number", "not an order number (letters, digits, '-', up to 32): 'ORD 1'"),
        ({"policy": "acme"}, "policy", "not one of esimium, airalo: 'acme'"),
        ({"policy": ""}, "policy", "required"),
        ({"customer_email": "not-an-email"}, "customer_email", "not an email address: 'not-an-email'"),
        ({"purchase_at": "2026-02-31T10:00:00"}, "purchase_at", "not a date-time: '2026-02-31T10:00:00'"),
        ({"amount_paid": "-1"}, "amount_paid", "must be a number >= 0: '-1'"),
        ({"amount_paid": "ten"}, "amount_paid", "not a number: 'ten'"),
        ({"currency": "EURO"}, "currency", "not an ISO 4217 currency code: 'EURO'"),
        (
            {"payment_method": "cash"},
            "payment_method",
            "not one of card, paypal, google_pay, apple_pay, alipay, "
            "bank_transfer, airmoney, airmoney_promo, credit_points: 'cash'",
        ),
        ({"customer_type": "vip"}, "customer_type", "not one of end_user, business, end_customer: 'vip'"),
        ({"quantity": "0"}, "quantity", "must be an integer >= 1: '0'"),
        ({"quantity": "1.5"}, "quantity", "not an integer: '1.5'"),
        ({"delivered_at": "yesterday"}, "delivered_at", "not a date-time: 'yesterday'"),
        ({"delivered_at": "2026-11-19T10:00:00Z"}, "delivered_at", "before purchase_at"),
        ({"installed": "yes"}, "installed", "not true or false: 'yes'"),
        ({"activated": "1"}, "activated", "not true or false: '1'"),
        ({"data_used_mb": "-5"}, "data_used_mb", "must be a number >= 0: '-5'"),
        ({"validity_ends_at": "soon"}, "validity_ends_at", "not a date-time: 'soon'"),
        ({"invoice_received_at": "2026-13-01"}, "invoice_received_at", "not a date-time: '2026-13-01'"),
        ({"reseller": "x" * 201}, "reseller", "longer than 200 characters"),
        ({"product": "Japan\x1b[2J"}, "product", "contains control characters"),
    ],
)
def test_each_kind_of_bad_cell_is_named_with_its_line(desk, tmp_path, cells, field, reason):
    names = HEADER.split(",")
    row = dict(zip(names, GOOD.split(","), strict=True))
    row.update(cells)
    path = write(tmp_path / "o.csv", HEADER, GOOD.replace("ABCD", "ZZZZ"), ",".join(row[n] for n in names))
    out = run(desk, path)
    assert (out["read"], out["created"], out["rejected"]) == (2, 1, 1)
    assert out["errors"] == [{"path": path, "line": 3, "field": field, "reason": reason}]
    with desk.reader() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 1  # the bad row changed nothing


def test_every_bad_field_of_a_row_is_named(desk, tmp_path):
    path = write(tmp_path / "o.jsonl", jrow(policy="x", amount_paid=True, currency=None, bogus=1, installed="yes"))
    out = run(desk, path)
    assert [(e["line"], e["field"]) for e in out["errors"]] == [
        (1, "bogus"),
        (1, "policy"),
        (1, "amount_paid"),
        (1, "currency"),
        (1, "installed"),
    ]
    assert out["rejected"] == 1 and out["created"] == 0


def test_rows_that_are_not_rows(desk, tmp_path):
    jl = write(tmp_path / "o.jsonl", jrow(), "{not json", "[1, 2]")
    cs = write(tmp_path / "o.csv", HEADER, GOOD + ",extra")
    out = run(desk, jl, cs)
    assert [(e["path"], e["line"], e["field"]) for e in out["errors"]] == [(jl, 2, None), (jl, 3, None), (cs, 2, None)]
    assert out["errors"][0]["reason"].startswith("not valid JSON")
    assert out["errors"][1]["reason"] == "not a JSON object"
    assert (out["read"], out["created"], out["rejected"]) == (4, 1, 3)


def test_multiline_csv_cell_keeps_the_row_start_line(desk, tmp_path):
    bad = GOOD.replace("ABCD", "WXYZ").replace("Japan 5 GB 30 days", '"Japan\n5 GB"').replace(",true,", ",maybe,")
    path = write(tmp_path / "o.csv", HEADER, bad, GOOD.replace(",true,", ",nope,"))
    out = run(desk, path)
    assert [(e["line"], e["field"]) for e in out["errors"]] == [(2, "product"), (2, "installed"), (4, "installed")]


def test_second_import_changes_nothing(desk, tmp_path):
    path = write(tmp_path / "o.csv", HEADER, GOOD, GOOD.replace("ABCD", "EFGH").replace("ann@", "ANN@"))
    assert run(desk, path)["created"] == 2

    def snapshot():
        with desk.engine.connect() as c:
            return [
                c.exec_driver_sql(f"SELECT * FROM {t} ORDER BY id").all()
                for t in ("esim_order", "customer", "order_history")
            ]

    before = snapshot()
    out = run(desk, path, now=LATER)
    assert out == {"read": 2, "created": 0, "updated": 0, "unchanged": 2, "rejected": 0, "errors": []}
    assert snapshot() == before
    assert len(before[1]) == 1  # one customer: the email matched whatever its case


def test_an_update_is_kept_in_the_orders_history(desk, tmp_path):
    write(tmp_path / "o.csv", HEADER, GOOD)
    run(desk, tmp_path / "o.csv")
    grown = GOOD.replace("true,false,0,", "true,true,640.5,")
    write(tmp_path / "o2.csv", HEADER, grown)
    out = run(desk, tmp_path / "o2.csv", now=LATER)
    assert (out["updated"], out["unchanged"]) == (1, 0)
    with desk.reader() as s:
        o = order_by_number(s, "ORD-2026112001-ABCD")
        assert (o.activated, o.data_used_mb, o.revision, o.refreshed_at) == (True, 640.5, 2, LATER)
        (h,) = order_history(s, o.id)
        assert (h.revision, h.at, h.source, h.origin) == (2, LATER, "import", f"{tmp_path / 'o2.csv'}:2")
        assert json.loads(h.changes) == {"activated": [False, True], "data_used_mb": [0, 640.5]}
        # what was known when: before the update, and after it
        assert order_as_of(s, o, NOW)[0] == 1 and order_as_of(s, o, NOW)[1]["data_used_mb"] == 0
        assert order_as_of(s, o, LATER)[1]["data_used_mb"] == 640.5


def test_the_same_order_twice_in_one_import_is_an_update(desk, tmp_path):
    path = write(tmp_path / "o.jsonl", jrow(), jrow(amount_paid=12))
    out = run(desk, path)
    assert (out["created"], out["updated"]) == (1, 1)
    with desk.reader() as s:
        assert s.scalar(select(func.count()).select_from(OrderHistory)) == 1


def test_a_file_that_cannot_be_read_is_one_line(desk, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        run(desk, tmp_path / "missing.csv")
    (tmp_path / "o.txt").write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        run(desk, tmp_path / "o.txt")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="not UTF-8"):
        run(desk, tmp_path / "bin.csv")


def test_cli_prints_the_summary_and_exits_0_or_2(tmp_path):
    db = f"sqlite:///{tmp_path}/d.sqlite"
    path = write(tmp_path / "orders.csv", HEADER, GOOD, GOOD.replace("EUR", "EURO").replace("ABCD", "EFGH"))
    cmd = [str(ROOT / ".venv" / "bin" / "esimdesk")]
    p = subprocess.run(
        [*cmd, "--db", db, "orders", "import", path], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {
        "read": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "errors": [{"path": path, "line": 3, "field": "currency", "reason": "not an ISO 4217 currency code: 'EURO'"}],
    }
    p = subprocess.run(
        [*cmd, "--db", db, "orders", "import", path, str(tmp_path / "gone.jsonl")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert p.returncode == 2 and p.stdout == "" and len(p.stderr.strip().splitlines()) == 1
    assert "gone.jsonl: no such file" in p.stderr


def test_the_bulk_paths_datetime_form_is_sqlalchemys():
    from sqlalchemy.dialects import sqlite

    from app.orders.store import _sqlite_datetime

    dialect = sqlite.dialect()
    proc = Order.__table__.c.purchased_at.type.dialect_impl(dialect).bind_processor(dialect)
    for dt in (datetime(2026, 11, 30, 10, 2, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), None):
        assert _sqlite_datetime(dt) == proc(dt)
