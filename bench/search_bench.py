"""Full-text search (app/search.py) at scale, on SQLite and PostgreSQL.

Builds a desk of N messages (default 100,000; $SEARCH_BENCH_MESSAGES, e.g.
1000000; --quick: 10,000) in tickets of five messages (mail, replies, a
note), through the index triggers, then runs a mix of queries as
`esimdesk search` runs them (ranked ids, the rows and snippets of the best 20)
and reports p50/p95 latency, the worst query class, index size and the
indexing rate. Target: p95 < 50 ms at 1,000,000 messages on both engines.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

TARGET_MS = 50.0
PER_TICKET = 5
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
CITIES = ["Zürich", "Tallinn", "São Paulo", "Kraków", "Nairobi", "Tōkyō", "Reykjavík", "Málaga", "Bogotá", "Dubai"]
QUERIES = {
    "rare identifier (ICCID)": lambda r, ids: ids["iccid"],
    "error code": lambda r, ids: ids["error"],
    "two words": lambda r, ids: f"{r.choice(ids['words'][200:800])} {r.choice(ids['words'][200:800])}",
    "phrase": lambda r, ids: f'"{ids["phrase"]}"',
    "typing, prefix of last word": lambda r, ids: (
        f"{r.choice(ids['words'][50:300])} {r.choice(ids['words'][300:900])[:4]}"
    ),
    "word -exclusion": lambda r, ids: f"{r.choice(ids['words'][100:400])} -{r.choice(ids['words'][0:20])}",
    "customer name, accents": lambda r, ids: r.choice(ids["names"]),
    "common word (worst case)": lambda r, ids: r.choice(ids["words"][:5]),
}


def _vocabulary(rng: random.Random, n: int = 6000) -> list[str]:
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4))))
    return sorted(words, key=lambda w: (len(w), w))


def build(desk, messages: int, seed: int = 11) -> dict:
    """Customers, tickets and messages (raw SQL in large transactions, triggers on)."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    weights = [1 / (i + 1) for i in range(len(words))]  # Zipf-like
    tickets = max(1, messages // PER_TICKET)
    names = [
        f"{rng.choice(['José', 'Maria', 'Jürgen', 'Aino', 'Łukasz', 'Chloé', 'Kenji'])} {w.title()}"
        for w in words[-2000:]
    ]
    picked = {"iccid": None, "error": None, "phrase": None}
    ts = NOW - timedelta(days=30)
    chunk = 2000
    with desk.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customer (name, email, phone, customer_type, created_at) VALUES "
                "(:n, :e, :p, 'end_user', :t)"
            ),
            [{"n": nm, "e": f"c{i}@example.com", "p": f"+372 5{i:07d}", "t": ts} for i, nm in enumerate(names)],
        )
    msg_id = 0
    for start in range(0, tickets, chunk):
        with desk.engine.begin() as conn:
            rows = []
            for i in range(start, min(tickets, start + chunk)):
                rows.append(
                    {
                        "r": f"CMP-2026-{i + 1:07d}",
                        "s": " ".join(rng.choices(words, weights, k=6)).capitalize(),
                        "c": rng.randrange(len(names)) + 1,
                        "t": ts + timedelta(seconds=i),
                    }
                )
            conn.execute(
                text(
                    "INSERT INTO ticket (reference, kind, status, subject, priority, customer_id, received_at, "
                    "extensions, version, created_at, updated_at) VALUES (:r, 'complaint', 'submitted', :s, 3, :c, "
                    ":t, 0, 1, :t, :t)"
                ),
                rows,
            )
            first = conn.execute(text("SELECT min(id) FROM ticket WHERE reference = :r"), {"r": rows[0]["r"]}).scalar()
            mrows = []
            for k, row in enumerate(rows):
                for j in range(PER_TICKET):
                    body = rng.choices(words, weights, k=rng.randint(20, 60))
                    body.insert(rng.randrange(len(body)), rng.choice(CITIES))
                    if rng.random() < 0.01:
                        body.append(f"ICCID 8937{rng.randrange(10**15):015d}")
                        picked["iccid"] = picked["iccid"] or body[-1].split()[1]
                    if rng.random() < 0.01:
                        body.append(f"error E-{rng.randrange(1000, 9999)}")
                        picked["error"] = picked["error"] or body[-1].split()[1]
                    if picked["phrase"] is None and len(body) > 30:
                        picked["phrase"] = " ".join(body[10:13])
                    kind = "inbound" if j in (0, 2) else ("note" if j == 4 else "outbound")
                    msg_id += 1
                    mrows.append(
                        {"ti": first + k, "k": kind, "b": " ".join(body), "t": row["t"] + timedelta(minutes=j)}
                    )
            conn.execute(
                text(
                    "INSERT INTO message (ticket_id, kind, subject, body, created_at, attempts) "
                    "VALUES (:ti, :k, '', :b, :t, 0)"
                ),
                mrows,
            )
    return {"words": words, "names": names, **picked}


def index_bytes(desk) -> int:
    with desk.engine.connect() as conn:
        if desk.engine.dialect.name == "sqlite":
            return int(conn.execute(text("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search_fts%'")).scalar() or 0)
        return int(conn.execute(text("SELECT pg_total_relation_size('search_doc')")).scalar() or 0)


def measure(desk, ids: dict, rounds: int, seed: int = 5) -> dict[str, list[float]]:
    from app.search import search

    rng = random.Random(seed)
    times: dict[str, list[float]] = {k: [] for k in QUERIES}
    with desk.reader() as s:
        search(s, "warm up")
    for _ in range(rounds):
        for name, make in QUERIES.items():
            q = make(rng, ids)
            with desk.reader() as s:
                t0 = time.perf_counter()
                search(s, q, limit=20)
                times[name].append((time.perf_counter() - t0) * 1000)
    return times


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def _built(desk, engine: str, messages: int, keep: Path | None) -> tuple[dict, float | None]:
    """Build the desk, or reuse one kept by an earlier run (SEARCH_BENCH_KEEP)."""
    import json

    ids_file = keep / f"search-{engine}-{messages}.json" if keep else None
    if ids_file is not None and ids_file.exists():
        return json.loads(ids_file.read_text()), None
    t0 = time.perf_counter()
    ids = build(desk, messages)
    took = time.perf_counter() - t0
    if engine == "postgresql":
        with desk.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    if ids_file is not None:
        ids_file.write_text(json.dumps(ids))
    return ids, took


def bench_engine(engine: str, url: str, messages: int, rounds: int, keep: Path | None = None) -> list[dict]:
    from app.db import open_desk
    from app.search import index_engine

    desk = open_desk(url)
    try:
        ids, took = _built(desk, engine, messages, keep)
        times = measure(desk, ids, rounds)
        size = index_bytes(desk)
        with desk.reader() as s:
            which = index_engine(s)
    finally:
        desk.dispose()
    every = [x for xs in times.values() for x in xs]
    p95 = _p95(every)
    worst = max(times, key=lambda k: _p95(times[k]))
    target = TARGET_MS if messages >= 1_000_000 else None
    rows = [
        {
            "name": f"{engine}: search p95, {messages:,} messages, query mix",
            "value": round(p95, 1),
            "unit": "ms",
            "target": f"< {TARGET_MS:.0f} ms at 1,000,000",
            "ok": (p95 < TARGET_MS) if target else None,
        },
        {"name": f"{engine}:   p50", "value": round(statistics.median(every), 1), "unit": "ms"},
    ]
    for name, xs in times.items():
        rows.append({"name": f"{engine}:   p95 {name}"[:58], "value": round(_p95(xs), 1), "unit": "ms"})
    rows += [
        {"name": f"{engine}:   worst class: {worst}"[:58], "value": round(_p95(times[worst]), 1), "unit": "ms"},
        {"name": f"{engine}: index size", "value": round(size / 1e6, 1), "unit": "MB"},
        {
            "name": f"{engine}: build through the triggers" + ("" if took else " (kept desk reused)"),
            "value": round(messages / took) if took else None,
            "unit": "msg/s",
        },
        {"name": f"{engine}: {which}"[:58], "value": None, "unit": ""},
    ]
    return rows


def _kept_pg_db(base_url: str, messages: int) -> str:
    """The database kept for this size on the given server (created when missing)."""
    import psycopg

    name = f"esimdesk_search_bench_{messages}"
    with psycopg.connect(base_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


def run(quick: bool = False) -> list[dict]:
    from bench.concurrency_bench import drop_pg_db, fresh_pg_db, start_cluster, stop_cluster

    messages = 10_000 if quick else int(os.environ.get("SEARCH_BENCH_MESSAGES", "100000"))
    rounds = 5 if quick else 25
    engines = os.environ.get("SEARCH_BENCH_ENGINES", "sqlite,postgresql").split(",")
    load = os.getloadavg()
    rows: list[dict] = [
        {
            "name": f"machine load average (1/5/15 min): {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}",
            "value": None,
            "unit": "",
        }
    ]
    # SEARCH_BENCH_KEEP=DIR keeps the built desks (SQLite file in DIR; on the
    # PostgreSQL server of $ESIMDESK_TEST_PG a database named for the size)
    # and reuses them on the next run: the 1,000,000-message build is long.
    keep = Path(os.environ["SEARCH_BENCH_KEEP"]) if os.environ.get("SEARCH_BENCH_KEEP") else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    if "sqlite" in engines:
        if keep is not None:
            rows += bench_engine("sqlite", f"sqlite:///{keep / f'search-{messages}.sqlite'}", messages, rounds, keep)
        else:
            with tempfile.TemporaryDirectory(prefix="esimdesk-search-bench-") as tmp:
                rows += bench_engine("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", messages, rounds)
    if "postgresql" in engines:
        base, env = start_cluster()
        if base is None:
            rows.append(
                {
                    "name": "postgresql: not run (no ESIMDESK_TEST_PG, no cluster)",
                    "value": None,
                    "unit": "",
                    "ok": False,
                }
            )
            return rows
        try:
            if keep is not None and not env:
                url = _kept_pg_db(base, messages)
                rows += bench_engine("postgresql", url, messages, rounds, keep)
            else:
                url = fresh_pg_db(base)
                try:
                    rows += bench_engine("postgresql", url, messages, rounds)
                finally:
                    drop_pg_db(base, url)
        finally:
            stop_cluster(env)
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
