"""Benchmark of email intake (issues 6, 21): 10,000 messages into a fresh desk,
SQLite or (engine="pg") a new database on the server bench/desks.py names.

The batch is a Maildir of realistic messages (complaints, inquiries, refund
requests with and without a known order, replies to earlier tickets, a few
HTML-only and attachment-carrying ones, some duplicates), ingested exactly as
`esimdesk intake` does (each message all or nothing, committed in groups).
Target: >= 2,000 messages/s (issue 21).

    python -m bench.intake_bench [--quick] [pg]
"""

from __future__ import annotations

import base64
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

MESSAGES = 10_000
TARGET_PER_S = 2000.0
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEklEQVR4nGP4z8DwnwEJwAQAJPQGBx7bSY8AAAAASUVORK5CYII="
)


def _message(i: int, rng: random.Random, start: datetime) -> bytes:
    when = (start + timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    sender = f"customer{rng.randrange(3000)}@example.com"
    kind = rng.random()
    extra = ""
    if kind < 0.35:
        subject = "Complaint Regarding eSIM Service"
    elif kind < 0.55:
        subject = (
            f"Refund Request ORD-{1000000000 + rng.randrange(200):010d}-ABCD"
            if rng.random() < 0.7
            else "Refund Request"
        )
    elif kind < 0.75 and i > 100:
        subject = f"Re: [CMP-2026-{rng.randrange(1, 50):06d}] We received your complaint"
    else:
        subject = rng.choice(["Where is my QR code?", "Question about data plans", "", "Help with activation"])
    body = (
        f"Hello,\n\nmy eSIM stopped working on {rng.randrange(1, 28)} November 2026 while roaming.\n"
        "I restarted the phone and toggled data roaming, nothing helped.\nPhone: +372 5555 0000\n\nRegards\n"
    )
    head = (
        f"From: Customer {i} <{sender}>\nTo: complaints@esimdesk.example\nSubject: {subject}\nDate: {when}\n"
        f"Message-ID: <bench-{i}@example.com>\nMIME-Version: 1.0\n{extra}"
    )
    if i % 25 == 0:  # HTML only
        return (
            head
            + "Content-Type: text/html; charset=utf-8\n\n<html><body><p>"
            + body.replace("\n", "<br>")
            + "</p></body></html>\n"
        ).encode()
    if i % 40 == 0:  # a screenshot attached
        b64 = base64.encodebytes(PNG).decode()
        return (
            head
            + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n'
            + body
            + '\n--b\nContent-Type: image/png\nContent-Disposition: attachment; filename="screenshot.png"\n'
            "Content-Transfer-Encoding: base64\n\n" + b64 + "\n--b--\n"
        ).encode()
    return (head + "Content-Type: text/plain; charset=utf-8\n\n" + body).encode()


def make_maildir(root: Path, n: int, seed: int = 11) -> Path:
    rng = random.Random(seed)
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    for d in ("new", "cur", "tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / "new" / f"{1795000000 + i}.M{i}P1.bench").write_bytes(_message(i, rng, start))
    # 1% duplicates (the same message delivered twice)
    for i in range(0, n, 100):
        src = root / "new" / f"{1795000000 + i}.M{i}P1.bench"
        (root / "cur" / f"{src.name}.dup:2,S").write_bytes(src.read_bytes())
    return root


def _seed_orders(desk) -> None:
    from models import Customer, Order

    now = datetime(2026, 11, 1, tzinfo=UTC)
    with desk.session() as s:
        c = Customer(email="orders@example.com", name="Orders", created_at=now)
        s.add(c)
        s.flush()
        for k in range(100):
            s.add(
                Order(
                    number=f"ORD-{1000000000 + k:010d}-ABCD",
                    customer_id=c.id,
                    brand="esimium",
                    purchased_at=now,
                    amount=Decimal("9.99"),
                )
            )


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the parse worker)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _server_cpu(url: str) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends serving `url`'s
    database, when the server runs on this machine (/proc); None otherwise."""
    if not url.startswith("postgresql"):
        return None
    import psycopg

    from bench.desks import _libpq

    try:
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            pids = [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        return total
    except (OSError, psycopg.Error):  # a remote server, or a backend gone meanwhile
        return None


@contextmanager
def _fresh_desk_url(root: Path, engine: str) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{root / 'desk.sqlite'}"
        return
    from bench.desks import scratch_database

    with scratch_database("esimdesk_bench_intake") as url:
        yield url


def run(quick: bool = False, engine: str = "sqlite") -> list[dict]:
    from app.config import DeskConfig
    from app.db import open_desk
    from app.mail.ingest import ingest_paths
    from bench.desks import NoServer

    n = 1_000 if quick else MESSAGES
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        try:
            url = stack.enter_context(_fresh_desk_url(root, engine))
        except NoServer as exc:
            return [{"name": f"intake on {engine}", "value": None, "unit": "", "target": str(exc), "ok": None}]
        maildir = make_maildir(root / "Maildir", n)
        desk = open_desk(url)
        try:
            _seed_orders(desk)
            config = DeskConfig()
            with desk.reader() as s:  # the pool's connection stays open: its backend's CPU is counted
                s.connection()
            server = _server_cpu(url)
            t, cpu = time.perf_counter(), _cpu_seconds()
            summary = ingest_paths(desk, [maildir], config=config)
            elapsed, cpu = time.perf_counter() - t, _cpu_seconds() - cpu
            after = _server_cpu(url)
            server = None if server is None or after is None else after - server
            d = summary.as_dict()
            t = time.perf_counter()
            again = ingest_paths(desk, [maildir], config=config).as_dict()
            rerun = time.perf_counter() - t
        finally:
            desk.dispose()
    return _rows(engine, d, elapsed, cpu, server, again, rerun)


def _rows(
    engine: str, d: dict, elapsed: float, cpu: float, server: float | None, again: dict, rerun: float
) -> list[dict]:
    """The figures of a run, each beside its target."""
    rate = d["read"] / elapsed
    # exact, and nothing quarantined: every message of this batch is routable
    exact = d["read"] == d["created"] + d["linked"] + d["duplicate"] + d["quarantined"] and d["quarantined"] == 0
    return [
        {
            "name": f"intake ({engine}): {d['read']} messages, each all or nothing (messages/s)",
            "value": round(rate, 1),
            "unit": "msg/s",
            "target": f">= {TARGET_PER_S:.0f}",
            "ok": rate >= TARGET_PER_S and exact,
        },
        {
            "name": "intake: the same, per CPU-second (process and parse worker; less sensitive to a busy machine)",
            "value": round(d["read"] / cpu, 1),
            "unit": "msg/cpu-s",
            "target": f">= {TARGET_PER_S:.0f}",
            "ok": d["read"] / cpu >= TARGET_PER_S,
        },
        {
            "name": "intake: client CPU per message (process and parse worker)",
            "value": round(cpu / d["read"] * 1000, 3),
            "unit": "ms",
            "target": "",
            "ok": None,
        },
        *(
            []
            if server is None
            else [
                {
                    "name": "intake: server CPU per message (PostgreSQL backends on this machine)",
                    "value": round(server / d["read"] * 1000, 3),
                    "unit": "ms",
                    "target": "",
                    "ok": None,
                }
            ]
        ),
        {
            "name": f"intake: read (created {d['created']}, linked {d['linked']}, duplicate {d['duplicate']}, "
            f"quarantined {d['quarantined']})",
            "value": d["read"],
            "unit": "messages",
            "target": "sum = read, none quarantined",
            "ok": exact,
        },
        {
            "name": "intake: re-run of the same batch (all duplicates, messages/s)",
            "value": round(again["read"] / rerun, 1),
            "unit": "msg/s",
            "target": "duplicate = read",
            "ok": again["duplicate"] == again["read"],
        },
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rows = run(quick="--quick" in argv, engine="pg" if "pg" in argv else "sqlite")
    for r in rows:
        print(f"{'ok ' if r['ok'] else 'BAD'}  {r['name']}: {r['value']} {r['unit']} (target {r['target']})")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
