"""Shared helpers of the tests/test_mail_*.py files."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from app.config import DeskConfig
from app.db import open_desk
from app.identity import Actor
from models import Customer, Order, Staff

DATA = Path(__file__).parent / "data" / "mail"
CONFIG = DeskConfig()
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def new_desk(tmp_path: Path):
    return open_desk(f"sqlite:///{tmp_path / 'desk.sqlite'}")


def make_maildir(root: Path, files: dict[str, bytes], sub: str = "new") -> Path:
    for d in ("new", "cur", "tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / sub / name).write_bytes(data)
    return root


def copy_fixture(name: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / name, dest)
    return dest


def eml(
    subject: str,
    body: str = "Hello, my eSIM does not work since 20 November 2026.",
    *,
    sender: str = "cust@example.com",
    msgid: str | None = None,
    date: str | None = "Mon, 23 Nov 2026 08:00:00 +0000",
    extra: str = "",
) -> bytes:
    head = f"From: Customer <{sender}>\nTo: complaints@esimdesk.example\nSubject: {subject}\n"
    if date:
        head += f"Date: {date}\n"
    if msgid:
        head += f"Message-ID: {msgid}\n"
    head += extra
    return (head + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n").encode()


def add_order(desk, number: str = "ORD-1234567890-ABCD", brand: str = "airalo") -> None:
    with desk.session() as s:
        c = Customer(email="owner@example.com", name="Owner", created_at=NOW)
        s.add(c)
        s.flush()
        s.add(Order(number=number, customer_id=c.id, brand=brand, purchased_at=NOW, amount=Decimal("9.99")))


def add_staff(desk, login: str, role: str) -> Actor:
    with desk.session() as s:
        st = Staff(login=login, name=login.title(), role=role, created_at=NOW)
        s.add(st)
        s.flush()
        return Actor.of(st)
