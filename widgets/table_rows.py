"""The rows a queue table holds, by index (widgets/ticket_table.py); no Textual here.

After a reload (a colleague changed something) the rows read before it stay
and are drawn, marked stale, until they are read again: a page key right
after the change finds its rows instead of waiting for the 2,400-row
read-ahead to be read again. `fresh` is what the read-ahead still has to
read: a stale row counts as missing there.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.queue_query import QueueRow


class _Fresh:
    """The indexes of a RowCache read since its last reload (a Container)."""

    __slots__ = ("_rows",)

    def __init__(self, rows: RowCache) -> None:
        self._rows = rows

    def __contains__(self, index: object) -> bool:
        return index in self._rows and index not in self._rows.stale


class RowCache(dict[int, QueueRow]):
    """Rows by index; `stale` holds the indexes kept from before a reload."""

    def __init__(self) -> None:
        super().__init__()
        self.stale: set[int] = set()
        self.fresh = _Fresh(self)

    def renew(self, keep: bool) -> None:
        """A new read of the source begins: drop the rows, or (`keep`) mark them all stale."""
        if keep:
            self.stale = set(self)
        else:
            self.clear()
            self.stale = set()

    def put(self, offset: int, rows: Sequence[QueueRow]) -> None:
        for i, row in enumerate(rows):
            self[offset + i] = row
        if self.stale and rows:
            self.stale.difference_update(range(offset, offset + len(rows)))

    def end_at(self, count: int) -> None:
        """The source holds `count` rows: stale rows past them go."""
        for i in [i for i in self.stale if i >= count]:
            del self[i]
            self.stale.discard(i)

    def keep_between(self, lo: int, hi: int) -> None:
        """Only the rows with indexes in [lo, hi] stay."""
        for i in [i for i in self if not lo <= i <= hi]:
            del self[i]
        self.stale.intersection_update(self)


__all__ = ["RowCache"]
