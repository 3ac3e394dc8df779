"""The queue table's cells: text that does not fit its column is cut with
"…" (a cut name or subject says it is cut), measured in terminal cells."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from widgets.ticket_lines import fit


@pytest.mark.parametrize(
    ("text", "width", "shown"),
    [
        ("Mikael Andersen", 14, "Mikael Anders…"),
        ("Mikael Anderse", 14, "Mikael Anderse"),  # exactly fits: not cut
        ("Ana", 6, "Ana   "),
        ("Fernández", 9, "Fernández"),
        ("Ana Fernández", 9, "Ana Fern…"),
        ("東京の空港", 7, "東京の…"),  # wide characters: 6 cells and the mark
        ("東京の空港", 6, "東京… "),  # a wide character never split: a blank fills the cell
    ],
)
def test_a_cell_is_padded_or_cut_with_a_mark_to_its_width(text, width, shown):
    assert fit(text, width) == shown and cell_len(fit(text, width)) == width
