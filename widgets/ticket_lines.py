"""How the queue table draws one line: segments built straight from the row,
and each row's line kept while nothing it shows changes.

A line is kept per (row, width, cursor on it, tagged, SLA words and state):
a scroll by one row draws one new line and reuses the rest, the once-a-second
clock repaint draws only rows whose words changed, and a row seen again
(paging back) is not built again. Customer text is made inert
(app.untrusted.inert) and drawn as plain segments, never parsed as markup.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from app import labels
from app.queue_query import QueueRow
from app.untrusted import inert
from models.enums import ClockState
from widgets.countdown import STATE_CLASS
from widgets.ticket_columns import MAIL_MARK, MARKS, SHORT_STATUS, TAG_MARK, UNREAD_MARK, Column

KEPT_LINES = 600  # lines kept (a screenful is ~50); all dropped when more are made
Sla = tuple[str, ClockState | None]  # a row's SLA words and the state they are coloured by


def _strip(segments: list[Segment], used: int, width: int, base: Style) -> Strip:
    """`segments` (`used` cells) filled with blanks to `width`."""
    if used < width:
        segments.append(Segment(" " * (width - used), base))
    return Strip(segments, max(used, width))


def _cells(
    cols: list[Column], texts: list[str], styles: list[Style], lead: list[Segment], base: Style
) -> list[Segment]:
    """The lead marks, then each column's text cut or padded to its width, a space between."""
    segs = lead
    space = Segment(" ", base)
    for i, (col, text, style) in enumerate(zip(cols, texts, styles, strict=False)):
        if i:
            segs.append(space)
        segs.append(Segment(fit(text, col.width), style))
    return segs


def fit(text: str, width: int) -> str:
    """`text` padded to `width` cells, or cut with "…" where it does not fit
    (a cut name or subject says it is cut)."""
    if len(text) <= width and text.isascii():  # (the common case: no cell widths to measure)
        return text.ljust(width)
    if width < 2 or cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(set_cell_size(text, width - 1).rstrip() + "…", width)  # (a wide character is never split)


def _used(cols: list[Column]) -> int:
    return MARKS + sum(c.width for c in cols) + len(cols) - 1


class TableLines:
    """Draws (and keeps) the table's lines for one set of component styles."""

    def __init__(self) -> None:
        self._kept: dict[tuple, Strip] = {}

    def clear(self) -> None:
        """Forget every line (the styles or the columns changed)."""
        self._kept = {}

    def header(self, cols: list[Column], st: dict[str, Style], width: int) -> Strip:
        key = ("header", width)
        line = self._kept.get(key)
        if line is None:
            style = st["base"] + st["ticket-table--header-full"]
            segs = _cells(cols, [c.title for c in cols], [style] * len(cols), [Segment(" " * MARKS, style)], style)
            line = self._keep(key, _strip(segs, _used(cols), width, style))
        return line

    def row(
        self,
        row: QueueRow,
        cols: list[Column],
        st: dict[str, Style],
        width: int,
        *,
        cursor: bool,
        tagged: bool,
        sla: Sla,
    ) -> Strip:
        key = (row, width, cursor, tagged, sla)
        line = self._kept.get(key)
        if line is None:
            line = self._keep(key, self._draw(row, cols, st, width, cursor, tagged, sla))
        return line

    def _keep(self, key: tuple, line: Strip) -> Strip:
        if len(self._kept) >= KEPT_LINES:
            self._kept = {}
        self._kept[key] = line
        return line

    @staticmethod
    def _draw(
        row: QueueRow, cols: list[Column], st: dict[str, Style], width: int, cursor: bool, tagged: bool, sla: Sla
    ) -> Strip:
        base = st["base"]
        if tagged:
            base = base + st["ticket-table--tagged"]
        if cursor:
            base = base + st["ticket-table--cursor"]
        words, state = sla
        texts = {
            "reference": row.reference,
            "kind": row.kind,
            "status": (SHORT_STATUS.get(row.status) if width < 120 else None) or labels.status(row.status),
            "customer": inert(row.customer, limit=80, single_line=True),
            "subject": MAIL_MARK.get(row.mail_flag or "", "") + inert(row.subject, limit=300, single_line=True),
            "assignee": row.assignee or "—",
            "sla": words,
        }
        styles = {
            "reference": base + st["ticket-table--priority"] if row.priority == 1 and not cursor else base,
            "sla": base + st["ticket-table--" + STATE_CLASS[state]] if state else base,
        }
        if tagged or row.unread:
            lead = [
                Segment(TAG_MARK, base + st["ticket-table--tag-mark"]) if tagged else Segment(" ", base),
                Segment(UNREAD_MARK, base + st["ticket-table--unread"]) if row.unread else Segment(" ", base),
                Segment(" ", base),
            ]
        else:
            lead = [Segment(" " * MARKS, base)]
        segs = _cells(cols, [texts[c.key] for c in cols], [styles.get(c.key, base) for c in cols], lead, base)
        return _strip(segs, _used(cols), width, base)


__all__ = ["KEPT_LINES", "Sla", "TableLines"]
