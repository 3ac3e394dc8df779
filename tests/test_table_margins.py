"""The queue table's read-ahead arithmetic (widgets/table_margins.py): which
rows to read next, at the edges where an off-by-one would either read the same
rows twice or leave a page key waiting."""

from __future__ import annotations

from widgets.table_margins import chunk_for, gap_above, gap_below

REACH, CHUNK = 1440, 120
MANY = 1_000_000


def test_a_top_up_grows_when_the_keys_outrun_the_reads():
    assert chunk_for(REACH, REACH, CHUNK) == CHUNK
    assert chunk_for(REACH // 2, REACH, CHUNK) == CHUNK
    assert chunk_for(REACH // 2 - 1, REACH, CHUNK) == 2 * CHUNK
    assert chunk_for(REACH // 4 - 1, REACH, CHUNK) == 3 * CHUNK


def test_below_nothing_is_read_until_a_whole_chunk_of_the_reach_is_missing():
    last = 100
    assert gap_below(set(range(last + REACH)), last, REACH, CHUNK, MANY, False) is None
    # one row short of a chunk missing at the far end: wait
    assert gap_below(set(range(last + REACH - CHUNK + 1)), last, REACH, CHUNK, MANY, False) is None
    # a whole chunk missing: read exactly it (the lead is long, so one chunk)
    start = last + REACH - CHUNK
    assert gap_below(set(range(start)), last, REACH, CHUNK, MANY, False) == (start, start + CHUNK)


def test_below_a_short_lead_reads_more_at_once():
    last = 100
    assert gap_below(set(range(last + 10)), last, REACH, CHUNK, MANY, False) == (last + 10, last + 10 + 3 * CHUNK)


def test_below_the_read_stops_at_the_last_row_and_a_full_tail_asks_nothing():
    assert gap_below(set(range(150)), 100, REACH, CHUNK, 200, False) == (150, 200)
    assert gap_below(set(range(200)), 100, REACH, CHUNK, 200, False) is None
    # more rows may follow the count: the read goes on past it
    assert gap_below(set(range(200)), 100, REACH, CHUNK, 200, True) == (200, 200 + 3 * CHUNK)


def test_above_nothing_at_the_first_row_and_the_read_stops_at_row_zero():
    assert gap_above(set(), 0, REACH, CHUNK) is None
    assert gap_above(set(range(50, 200)), 100, REACH, CHUNK) == (0, 50)


def test_above_nothing_is_read_until_a_whole_chunk_of_the_reach_is_missing():
    top = 2000
    start = top - REACH
    assert gap_above(set(range(start + CHUNK - 1, 3000)), top, REACH, CHUNK) is None
    assert gap_above(set(range(start + CHUNK, 3000)), top, REACH, CHUNK) == (start, start + CHUNK)
