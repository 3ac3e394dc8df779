"""Parsing a batch ahead of the database writes, on another CPU.

Intake spends about a fifth of each message parsing it (the standard
library's `email` package, pure Python) and the rest writing it. On a machine
with more than one CPU a large batch is parsed in one worker process while
the main process writes: `parsed_stream` yields (RawMessage, outcome) in the
batch's order, where outcome is a ParsedMessage or the Unparseable that says
why the message must be quarantined.

The window is bounded (a few chunks in flight), so a batch is never read into
memory whole. The writer parses the first chunks itself while the worker
starts, and takes back any chunk the worker has not begun by the time the
writer reaches it, so neither side waits on the other for long. Small batches, and machines with one CPU, parse inline: a
worker costs a process start. Whatever happens to the worker, the outcome is
the same as inline parsing: a chunk the worker could not return is parsed
inline.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain, islice

from app.mail.parse import ParsedMessage, Unparseable, parse_message
from app.mail.sources import RawMessage

log = logging.getLogger("esimdesk.intake")

CHUNK = 64  # messages a worker parses per round trip ...
CHUNK_BYTES = 8 * 1024 * 1024  # ... or fewer, when they are large (memory stays bounded)
IN_FLIGHT = 4  # chunks submitted ahead of the writer
START_INLINE = 2  # chunks the writer parses itself while the worker process starts
PARENT_POLL_S = 0.5
MIN_BATCH_FOR_WORKER = 2 * CHUNK  # below this the process start is not worth it

Outcome = ParsedMessage | Unparseable


def parse_outcome(raw: bytes) -> Outcome:
    try:
        return parse_message(raw)
    except Unparseable as exc:
        return exc


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: leave when the intake process is gone (killed, say),
    instead of waiting on its queue forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _parse_chunk(raws: list[bytes]) -> list[Outcome]:
    return [parse_outcome(r) for r in raws]


def _inline(messages: Iterable[RawMessage]) -> Iterator[tuple[RawMessage, Outcome]]:
    for rm in messages:
        yield rm, parse_outcome(rm.raw)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  (not Linux)
        return os.cpu_count() or 1


def parsed_stream(
    messages: Iterable[RawMessage], *, worker: bool | None = None
) -> Iterator[tuple[RawMessage, Outcome]]:
    """(message, outcome) for every message, in order. `worker` None: use a
    worker process when the batch is large and a second CPU exists."""
    it = iter(messages)
    first: list[RawMessage] = []
    size = 0
    for rm in it:  # look ahead: is this batch large enough for a worker?
        first.append(rm)
        size += len(rm.raw)
        if len(first) == MIN_BATCH_FOR_WORKER or size >= 2 * CHUNK_BYTES:
            break
    if worker is None:
        worker = (len(first) == MIN_BATCH_FOR_WORKER or size >= 2 * CHUNK_BYTES) and _cpus() > 1
    if not worker:
        yield from _inline(first)
        yield from _inline(it)
        return
    chunks = _chunks(first, it)
    pending: deque[tuple[list[RawMessage], Future[list[Outcome]] | None]] = deque()
    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    ) as pool:

        def submit(chunk: list[RawMessage]) -> Future[list[Outcome]] | None:
            try:
                return pool.submit(_parse_chunk, [rm.raw for rm in chunk])
            except Exception:  # noqa: BLE001 - the pool broke earlier: this chunk is parsed inline
                return None

        try:
            for chunk in islice(chunks, START_INLINE):  # parsed here while the worker starts
                pending.append((chunk, None))
            for chunk in islice(chunks, IN_FLIGHT):
                pending.append((chunk, submit(chunk)))
            while pending:
                chunk, future = pending.popleft()
                nxt = next(chunks, None)
                if nxt is not None:
                    pending.append((nxt, submit(nxt)))
                outcomes = None
                if future is not None and (future.done() or not future.cancel()):  # a chunk not started is parsed here
                    try:
                        outcomes = future.result()
                    except Exception as exc:  # noqa: BLE001 - a dead or broken worker: parse this chunk here
                        log.warning("intake: parse worker failed (%s); parsing inline", type(exc).__name__)
                if outcomes is None:
                    outcomes = [parse_outcome(rm.raw) for rm in chunk]
                yield from zip(chunk, outcomes, strict=True)
        finally:
            for _chunk, future in pending:
                if future is not None:
                    future.cancel()


def _chunks(first: list[RawMessage], rest: Iterator[RawMessage]) -> Iterator[list[RawMessage]]:
    """Chunks of at most CHUNK messages and, past one message, CHUNK_BYTES bytes."""
    chunk: list[RawMessage] = []
    size = 0
    for rm in chain(first, rest):
        if chunk and (len(chunk) == CHUNK or size + len(rm.raw) > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(rm)
        size += len(rm.raw)
    if chunk:
        yield chunk
