"""Which rows the queue table reads ahead next (widgets/ticket_table.py):
arithmetic over the indexes of the rows it holds, no Textual here."""

from __future__ import annotations

from collections.abc import Container


def chunk_for(lead: int, reach: int, chunk: int) -> int:
    """Rows for the next top-up, `lead` rows read ahead of `reach`: a chunk; two or
    three when the keys outrun the reads (held page-down: fewer reads to wait for)."""
    return chunk * (1 + (lead < reach // 2) + (lead < reach // 4))


def gap_below(
    cached: Container[int], last: int, reach: int, chunk: int, count: int, growing: bool
) -> tuple[int, int] | None:
    """[first row missing below the screen (which ends before `last`), a chunk on),
    once a chunk of the `reach` is missing or the rows end within it (`count`
    rows; `growing`: more may follow)."""
    end = last + reach if growing else min(count, last + reach)
    gap = next((i for i in range(last, end) if i not in cached), None)
    if gap is None or (gap > last + reach - chunk and end == last + reach):
        return None
    size = chunk_for(gap - last, reach, chunk)
    return gap, gap + size if growing else min(end, gap + size)


def gap_above(cached: Container[int], top: int, reach: int, chunk: int) -> tuple[int, int] | None:
    """[a chunk up, first row missing above the screen (which starts at `top`)],
    once a chunk of the `reach` is missing or the first row is within it."""
    start = max(0, top - reach)
    gap = next((i for i in range(top - 1, start - 1, -1) if i not in cached), None)
    if gap is None or (gap < top - reach + chunk - 1 and start == top - reach):
        return None
    return max(start, gap + 1 - chunk_for(top - 1 - gap, reach, chunk)), gap + 1


__all__ = ["chunk_for", "gap_above", "gap_below"]
