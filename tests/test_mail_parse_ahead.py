"""Parsing ahead in a worker process gives exactly what parsing inline gives,
in the batch's order; small batches never start a process."""

from __future__ import annotations

import multiprocessing

import pytest

from app.mail import parse_ahead
from app.mail.parse import ParsedMessage, Unparseable
from app.mail.sources import RawMessage
from mail_helpers import eml


def _batch(n: int) -> list[RawMessage]:
    out = []
    for i in range(n):
        if i % 37 == 5:  # no From address: unparseable, to be quarantined
            raw = f"Subject: broken {i}\nMessage-ID: <b{i}@x>\n\nno sender here\n".encode()
        else:
            raw = eml(
                f"Question {i}",
                f"Body number {i}, about my eSIM.",
                sender=f"c{i}@example.com",
                msgid=f"<m{i}@example.com>",
            )
        out.append(RawMessage(source=f"mem#{i}", raw=raw, mtime=None))
    return out


def _summary(outcome) -> tuple:
    if isinstance(outcome, Unparseable):
        return ("unparseable", str(outcome))
    assert isinstance(outcome, ParsedMessage)
    return ("parsed", outcome.message_id, outcome.subject, outcome.body, outcome.from_addr, outcome.dedupe_key)


def test_worker_outcomes_equal_inline_outcomes_in_order():
    batch = _batch(parse_ahead.MIN_BATCH_FOR_WORKER + 3 * parse_ahead.CHUNK + 7)  # several chunks, a ragged last one
    ahead = list(parse_ahead.parsed_stream(batch, worker=True))
    inline = list(parse_ahead.parsed_stream(batch, worker=False))
    assert [rm.source for rm, _ in ahead] == [rm.source for rm in batch]
    assert [_summary(o) for _, o in ahead] == [_summary(o) for _, o in inline]
    assert sum(isinstance(o, Unparseable) for _, o in ahead) == len([i for i in range(len(batch)) if i % 37 == 5])
    assert multiprocessing.active_children() == []  # the worker is gone once the batch is done


def test_a_small_batch_parses_inline_without_starting_a_process(monkeypatch):
    def no_pool(*_a, **_k):
        raise AssertionError("a worker process was started for a small batch")

    monkeypatch.setattr(parse_ahead, "ProcessPoolExecutor", no_pool)
    batch = _batch(parse_ahead.MIN_BATCH_FOR_WORKER - 1)
    out = list(parse_ahead.parsed_stream(batch))
    assert [rm.source for rm, _ in out] == [rm.source for rm in batch]
    assert all(_summary(o) == _summary(parse_ahead.parse_outcome(rm.raw)) for rm, o in out)


def test_one_cpu_parses_inline(monkeypatch):
    monkeypatch.setattr(parse_ahead, "_cpus", lambda: 1)
    monkeypatch.setattr(parse_ahead, "ProcessPoolExecutor", lambda *a, **k: pytest.fail("worker on a single CPU"))
    assert (
        len(list(parse_ahead.parsed_stream(_batch(parse_ahead.MIN_BATCH_FOR_WORKER + 1))))
        == parse_ahead.MIN_BATCH_FOR_WORKER + 1
    )


def test_an_unusable_worker_falls_back_to_inline_parsing(monkeypatch):
    """A pool that cannot run anything (here: submit always fails, as after a
    worker died) still yields every outcome."""

    class BrokenPool:
        def __init__(self, *a, **k) -> None:
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            return None

        def submit(self, *a, **k):
            raise RuntimeError("cannot schedule new futures after shutdown")

    monkeypatch.setattr(parse_ahead, "ProcessPoolExecutor", BrokenPool)
    batch = _batch(parse_ahead.MIN_BATCH_FOR_WORKER + parse_ahead.CHUNK)
    out = list(parse_ahead.parsed_stream(batch, worker=True))
    assert [_summary(o) for _, o in out] == [_summary(parse_ahead.parse_outcome(rm.raw)) for rm in batch]


def test_chunks_are_bounded_by_count_and_by_bytes(monkeypatch):
    monkeypatch.setattr(parse_ahead, "CHUNK_BYTES", 10_000)
    small = [RawMessage(f"s{i}", b"x" * 100, None) for i in range(150)]
    big = [RawMessage(f"b{i}", b"y" * 4_000, None) for i in range(7)]
    huge = [RawMessage("h", b"z" * 50_000, None)]  # larger than a chunk: a chunk of its own
    chunks = list(parse_ahead._chunks([], iter(small + big + huge + small[:3])))
    assert [rm.source for c in chunks for rm in c] == [rm.source for rm in small + big + huge + small[:3]]
    assert all(len(c) <= parse_ahead.CHUNK for c in chunks)
    assert all(sum(len(rm.raw) for rm in c) <= 10_000 for c in chunks if len(c) > 1)
    assert [rm.source for rm in next(c for c in chunks if c[0].source == "h")] == ["h"]
