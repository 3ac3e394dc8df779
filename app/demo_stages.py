"""PostgreSQL: a demo build committed in stages, its server work spread over
several connections (a server process each).

In one transaction all of a build's server work runs in one server process
(PostgreSQL 15 runs the fills' INSERT ... SELECT and the GIN inserts without
parallel workers): at 1,000,000 tickets ~265 s of CPU, more than the
build's target (issue 21: 3 minutes). So the build commits each chunk of
rows as it is written (app/demo_pipeline.py), and FILLERS more connections
make the derived rows of the committed tickets (the fills of
app/demo_bulk.py), each range in its own transaction, while the build
writes the next chunk; after the load the indexes the build dropped are
made again the same way, several at a time.

A build stopped part way (killed: an exception runs `undo` itself) leaves a
half-built desk. The table MARKER, made and committed with the build's
first changes (its triggers disabled, its indexes and constraints dropped),
holds what `undo` needs to put the desk back as it was before the build:
the tables that were empty (emptied again) and the statements that make the
dropped indexes and constraints (those missing are made). The build's last
transaction drops it. `open_desk` refuses a desk that has it (HALF_BUILT,
one line); `esimdesk demo` runs `undo` and builds again.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import Connection, Engine, text

MARKER = "demo_build_unfinished"
HALF_BUILT = (
    "this desk's demo build has not finished (it is under way, or was stopped part way): "
    "once stopped, run `esimdesk demo` again to rebuild it, or use a new database"
)
FILLERS = 2  # connections doing the build's server work beside its own (the machine's 2 CPUs)

Job = Callable[[Connection], None]


def commit(conn: Connection) -> None:
    """Commit the build's work so far; the build's next statement begins its
    next transaction (the session's transaction carries on over it)."""
    conn.connection.dbapi_connection.commit()  # type: ignore[union-attr]


def unfinished(conn: Connection) -> bool:
    """Has the desk a build that did not finish (MARKER)?"""
    return bool(conn.execute(text("SELECT to_regclass(:m) IS NOT NULL"), {"m": MARKER}).scalar_one())


def begin(conn: Connection, remake: Iterable[tuple[str, str, str]]) -> None:
    """Record what the build has changed so far, `remake` ((table, name,
    statement) of each index and constraint dropped) and the tables now
    empty, in MARKER; commit."""
    tables = (
        conn.exec_driver_sql("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
        .scalars()
        .all()
    )
    empty = [t for t in tables if not conn.exec_driver_sql(f'SELECT EXISTS (SELECT FROM "{t}")').scalar()]
    conn.exec_driver_sql(f"CREATE TABLE {MARKER} (step int NOT NULL, tbl text NOT NULL, name text, sql text)")
    rows = [{"tbl": t, "name": None, "sql": None} for t in empty]
    rows += [{"tbl": t, "name": name, "sql": sql} for t, name, sql in remake]
    conn.execute(
        text(f"INSERT INTO {MARKER} VALUES (:step, :tbl, :name, :sql)"),
        [dict(row, step=i) for i, row in enumerate(rows)],
    )
    commit(conn)


def _exists(conn: Connection, table: str, name: str, sql: str) -> bool:
    if not sql.startswith("ALTER TABLE"):  # an index
        return bool(conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": f'"{name}"'}).scalar_one())
    q = "SELECT EXISTS (SELECT FROM pg_constraint WHERE conname = :n AND conrelid = to_regclass(:t))"
    return bool(conn.execute(text(q), {"n": name, "t": f'"{table}"'}).scalar_one())


def undo(conn: Connection, enable_triggers: Job) -> None:
    """Put a half-built desk back as it was before the build (MARKER): its
    tables that were empty emptied, its dropped indexes and constraints made
    again, its triggers enabled (`enable_triggers`); commit."""
    rows = conn.execute(text(f"SELECT tbl, name, sql FROM {MARKER} ORDER BY step")).all()
    empty = [t for t, _, sql in rows if sql is None]
    if empty:
        conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in empty) + " RESTART IDENTITY")
    for table, name, sql in rows:
        if sql is not None and not _exists(conn, table, name, sql):
            conn.exec_driver_sql(sql)
    enable_triggers(conn)
    conn.exec_driver_sql(f"DROP TABLE {MARKER}")
    commit(conn)


class Fillers:
    """FILLERS connections of `engine`, each running the jobs given it
    (`run`) in a transaction of its own, committed after each job. A job's
    failure is raised by the next `check` or `join`; the jobs after it are
    skipped."""

    def __init__(self, engine: Engine, settings: Job) -> None:
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.failed: list[BaseException] = []
        self.stopping = False
        self.threads = [
            threading.Thread(target=self._work, args=(engine, settings), name=f"demo-filler-{i}", daemon=True)
            for i in range(FILLERS)
        ]
        for t in self.threads:
            t.start()

    def _work(self, engine: Engine, settings: Job) -> None:
        conn: Connection | None = None
        try:
            conn = engine.connect()
        except BaseException as exc:  # noqa: BLE001 - raised in the build's thread
            self.failed.append(exc)
        try:
            while (job := self.jobs.get()) is not None:
                try:
                    if conn is not None and not self.failed and not self.stopping:
                        settings(conn)
                        job(conn)
                        conn.commit()
                except BaseException as exc:  # noqa: BLE001 - raised in the build's thread
                    self.failed.append(exc)
                    if conn is not None:
                        conn.rollback()
                finally:
                    self.jobs.task_done()
            self.jobs.task_done()
        finally:
            if conn is not None:
                conn.close()

    def run(self, job: Job) -> None:
        self.check()
        self.jobs.put(job)

    def check(self) -> None:
        if self.failed:
            raise self.failed[0]

    def join(self) -> None:
        """Wait for every job given so far (the connections stay for more); raise a failure."""
        self.jobs.join()
        self.check()

    def close(self, stop: bool = False) -> None:
        """End the connections after the jobs given them, or (`stop`) after
        the job each one is running (a failure is not raised)."""
        self.stopping = self.stopping or stop
        for _ in self.threads:
            self.jobs.put(None)
        for t in self.threads:
            t.join()


def run_each(fillers: Fillers, statements: Iterable[str]) -> None:
    """Run `statements` (each on its own) on the fillers' connections (`Fillers.join` waits for them)."""
    for sql in statements:
        fillers.run(_statement(sql))


def _statement(sql: str) -> Job:
    def job(conn: Connection) -> None:
        conn.exec_driver_sql(sql)

    return job


__all__ = ["HALF_BUILT", "MARKER", "Fillers", "begin", "commit", "run_each", "undo", "unfinished"]
