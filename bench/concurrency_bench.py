"""Many agents, one desk: concurrent ticket writes on SQLite (WAL) and PostgreSQL.

Eight writer processes (multiprocessing, spawn) act on the same tickets at
once, the way consoles do: read the ticket's version, then in one transaction
lock it at that version (app.tickets.lock), change it (a note, an assignment,
a priority change or an acknowledgement), bump the version (touch) and
append one history event. A StaleTicket (somebody was quicker) reloads and
retries. Every success also increments the ticket's `extensions` column, used
here as a counter, so lost updates show up as a wrong sum.

Reported per engine: throughput of successful write transactions (tx/s) and
the p99 latency from the start of the write transaction to its commit
(including waiting for the lock). PostgreSQL runs when $ESIMDESK_TEST_PG is
set or a throwaway cluster can be started with tests/pg_cluster.sh.

    python -m bench.concurrency_bench [--quick]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import random
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = ("note", "assign", "priority", "acknowledge")
WORKERS = 8
MAX_RETRIES = 10_000
# Targets: a busy desk of 8 people does well under 1 write a second; 50 tx/s
# leaves a 50x margin for bursts and scripts. A p99 under 250 ms keeps a key
# press feeling instant even when colleagues write at the same moment.
TARGET_TPS = {"sqlite": 50.0, "postgresql": 50.0}
TARGET_P99_MS = 250.0


def seed(url: str, tickets: int, staff: int = WORKERS) -> list[str]:
    """Create (migrate) the desk at `url` with `staff` agents and `tickets` tickets."""
    from app.db import open_desk
    from models import Staff, Ticket

    now = datetime.now(UTC)
    desk = open_desk(url)
    try:
        with desk.session() as s:
            for i in range(staff):
                s.add(Staff(login=f"agent{i}", name=f"Agent {i}", role="agent", created_at=now))
            refs = [f"CMP-{now.year}-{900000 + i:06d}" for i in range(tickets)]
            for ref in refs:
                s.add(
                    Ticket(
                        reference=ref,
                        kind="complaint",
                        subject="bench",
                        received_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
        return refs
    finally:
        desk.dispose()


def agent(url: str, worker: int, refs: list[str], n_actions: int, rng_seed: int, start, out, ready=None) -> None:
    """One agent process: `n_actions` attempts on random tickets; puts a result dict on `out`.

    Signals `ready` once connected, then waits for `start`, so all agents begin at once."""
    result = {"worker": worker, "ok": Counter(), "refused": 0, "retries": 0, "latencies": [], "errors": [], "locked": 0}
    try:
        from sqlalchemy import select
        from sqlalchemy.exc import OperationalError

        from app import history
        from app.db import open_desk
        from app.errors import IllegalTransition, StaleTicket
        from app.tickets import get, lock, touch
        from models import Message, Staff

        desk = open_desk(url)
        login = f"agent{worker}"
        with desk.reader() as s:
            staff_ids = list(s.scalars(select(Staff.id)))
        rng = random.Random(rng_seed)
        if ready is not None:
            ready.put(worker)
        start.wait(300)
        for i in range(n_actions):
            ref = rng.choice(refs)
            action = ACTIONS[rng.randrange(len(ACTIONS))]
            for _attempt in range(MAX_RETRIES):
                try:
                    with desk.reader() as s:
                        seen = get(s, ref).version
                    t0 = time.perf_counter()
                    with desk.session() as s:
                        now = datetime.now(UTC)
                        ticket = lock(s, ref, seen)
                        detail: dict = {"worker": worker, "seq": i}
                        if action == "note":
                            s.add(
                                Message(
                                    ticket_id=ticket.id,
                                    kind="note",
                                    author=login,
                                    body=f"note {worker}/{i}",
                                    created_at=now,
                                )
                            )
                        elif action == "assign":
                            ticket.assignee_id = rng.choice(staff_ids)
                            detail["to"] = ticket.assignee_id
                        elif action == "priority":
                            ticket.priority = ticket.priority % 3 + 1
                            detail["to"] = ticket.priority
                        elif action == "acknowledge":
                            if ticket.acknowledged_at is not None:
                                raise IllegalTransition(f"{ref} is already acknowledged")
                            ticket.acknowledged_at = now
                            ticket.status = "acknowledged"
                        ticket.extensions += 1  # the success counter
                        touch(ticket, login, now)
                        history.record(s, ticket.id, login, action, now, **detail)
                    result["latencies"].append(time.perf_counter() - t0)
                    result["ok"][ref] += 1
                    break
                except StaleTicket:
                    result["retries"] += 1
                    continue
                except IllegalTransition:
                    result["refused"] += 1
                    break
                except OperationalError as exc:
                    msg = str(exc.orig or exc).splitlines()[0]
                    if "locked" in msg:
                        result["locked"] += 1
                    result["errors"].append(msg)
                    break
        desk.dispose()
    except BaseException:  # noqa: BLE001 - report, never hang the parent
        result["errors"].append(traceback.format_exc(limit=3).strip().splitlines()[-1])
    result["ok"] = dict(result["ok"])
    out.put(result)


def run_agents(url: str, workers: int = WORKERS, actions: int = 50, tickets: int = 4) -> dict:
    """Seed the (empty) desk at `url`, run `workers` agent processes at once; aggregated results."""
    refs = seed(url, tickets)
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    out = ctx.Queue()
    ready = ctx.Queue()
    procs = [
        ctx.Process(target=agent, args=(url, w, refs, actions, 1000 + w, start, out, ready), daemon=True)
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    results = []
    # every process imports and connects first; then they all start at once
    n_ready = 0
    while n_ready + sum(not p.is_alive() for p in procs) < workers:
        try:
            ready.get(timeout=1)
            n_ready += 1
        except queue.Empty:
            continue
    t0 = time.perf_counter()
    start.set()
    while len(results) < workers:
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and out.empty():
                break  # a process died without reporting
    missing = workers - len(results)
    wall = time.perf_counter() - t0
    for p in procs:
        p.join(30)
    ok: Counter = Counter()
    latencies: list[float] = []
    for r in results:
        ok.update(r["ok"])
        latencies.extend(r["latencies"])
    latencies.sort()
    successes = sum(ok.values())
    return {
        "url": url,
        "refs": refs,
        "workers": workers,
        "attempted": workers * actions,
        "successes": successes,
        "ok_by_ref": dict(ok),
        "refused": sum(r["refused"] for r in results),
        "retries": sum(r["retries"] for r in results),
        "errors": [e for r in results for e in r["errors"]] + ["an agent process died without a result"] * missing,
        "locked": sum(r["locked"] for r in results),
        "wall_s": wall,
        "tps": successes / wall if wall > 0 else 0.0,
        "p50_ms": _pct(latencies, 50) * 1000,
        "p99_ms": _pct(latencies, 99) * 1000,
    }


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    k = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def verify(url: str, result: dict) -> list[str]:
    """Problems found in the desk after `run_agents` (empty list: all consistent)."""
    from sqlalchemy import func, select

    from app.db import open_desk
    from models import Ticket, TicketEvent

    problems = []
    desk = open_desk(url, migrate=False)
    try:
        with desk.reader() as s:
            for ref in result["refs"]:
                t = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
                n = result["ok_by_ref"].get(ref, 0)
                events = (
                    s.scalar(
                        select(func.count(TicketEvent.id)).where(
                            TicketEvent.ticket_id == t.id, TicketEvent.action.in_(ACTIONS)
                        )
                    )
                    or 0
                )
                if t.version != 1 + n:
                    problems.append(f"{ref}: version {t.version}, expected {1 + n}")
                if t.extensions != n:
                    problems.append(f"{ref}: counter {t.extensions}, expected {n} (lost update)")
                if events != n:
                    problems.append(f"{ref}: {events} events, expected {n}")
    finally:
        desk.dispose()
    if result["errors"]:
        problems.append(f"{len(result['errors'])} errors, first: {result['errors'][0]}")
    if result["locked"]:
        problems.append(f"{result['locked']} 'database is locked' errors")
    return problems


def start_cluster() -> tuple[str | None, dict]:
    """A PostgreSQL URL: $ESIMDESK_TEST_PG, or a throwaway cluster (stopped by stop_cluster)."""
    url = os.environ.get("ESIMDESK_TEST_PG")
    if url:
        return url, {}
    env = dict(
        os.environ,
        ESIMDESK_PG_STATE=str(Path(tempfile.gettempdir()) / f"esimdesk-bench-pg-{os.getpid()}.env"),
        ESIMDESK_PG_PORT="56432",
    )
    script = ROOT / "tests" / "pg_cluster.sh"
    try:
        proc = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True, env=env, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None, {}
    if proc.returncode != 0:
        return None, {}
    return proc.stdout.strip().splitlines()[-1], env


def stop_cluster(env: dict) -> None:
    if env:
        subprocess.run(
            ["bash", str(ROOT / "tests" / "pg_cluster.sh"), "stop"], env=env, capture_output=True, timeout=120
        )


def fresh_pg_db(base_url: str) -> str:
    import uuid

    import psycopg

    name = f"esimdesk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_db(base_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(base_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rows(engine: str, res: dict, problems: list[str]) -> list[dict]:
    return [
        {
            "name": f"{engine}: {res['workers']} writers, throughput",
            "value": round(res["tps"], 1),
            "unit": "tx/s",
            "target": f">= {TARGET_TPS[engine]:.0f}",
            "ok": res["tps"] >= TARGET_TPS[engine] and not problems,
        },
        {
            "name": f"{engine}: p99 commit latency",
            "value": round(res["p99_ms"], 1),
            "unit": "ms",
            "target": f"<= {TARGET_P99_MS:.0f}",
            "ok": res["p99_ms"] <= TARGET_P99_MS,
        },
        {
            "name": f"{engine}: p50 commit latency",
            "value": round(res["p50_ms"], 1),
            "unit": "ms",
            "target": "-",
            "ok": True,
        },
        {
            "name": f"{engine}: lost updates / lock errors ({res['successes']} tx, {res['retries']} stale retries)",
            "value": len(problems),
            "unit": "problems",
            "target": "0",
            "ok": not problems,
        },
    ]


def run(quick: bool = False) -> list[dict]:
    """Both engines (PostgreSQL when available); one row per figure."""
    actions = 40 if quick else 250
    tickets = 20
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="esimdesk-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        res = run_agents(url, WORKERS, actions, tickets)
        rows += _rows("sqlite", res, verify(url, res))
    base, env = start_cluster()
    if base is None:
        rows.append(
            {
                "name": "postgresql: not run (no ESIMDESK_TEST_PG and no cluster could be started)",
                "value": 0,
                "unit": "",
                "target": "-",
                "ok": False,
            }
        )
        return rows
    try:
        url = fresh_pg_db(base)
        try:
            res = run_agents(url, WORKERS, actions, tickets)
            rows += _rows("postgresql", res, verify(url, res))
        finally:
            drop_pg_db(base, url)
    finally:
        stop_cluster(env)
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rows = run(quick="--quick" in argv)
    for r in rows:
        mark = "ok " if r["ok"] else "MISS"
        print(f"{mark} {r['name']}: {r['value']} {r['unit']} (target {r['target']})")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
