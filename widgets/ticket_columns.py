"""The queue table's columns and marks: which columns fit a width, and the
short words a narrow terminal shows (widgets/ticket_table.py draws them)."""

from __future__ import annotations

MARKS = 3  # cells before the columns: tagged, unread, a space
TAG_MARK, UNREAD_MARK = "✓", "●"


# the queue's marker for what customer mail did to a ticket (Ticket.mail_flag)
MAIL_MARK = {
    "reopened": "↺ reopened by the customer · ",
    "follow_up": "↳ follows a closed ticket · ",
    "bounced": "✉ mail bounced · ",
}
# statuses in 13 cells, for narrow terminals
SHORT_STATUS = {
    "information_gathering": "info needed",
    "resolution_proposed": "res. proposed",
    "resolution_communicated": "res. told",
    "acknowledged": "acknowledged",
    "investigation": "investigating",
    "under_review": "in review",
}


class Column:
    __slots__ = ("key", "title", "width")

    def __init__(self, key: str, title: str, width: int) -> None:
        self.key, self.title, self.width = key, title, width


def layout(width: int) -> list[Column]:
    """Columns for a table `width` cells wide, after the marks (subject takes what is left)."""
    if width >= 120:
        cols = [
            Column("reference", "Reference", 15),
            Column("kind", "Kind", 10),
            Column("status", "Status", 23),
            Column("customer", "Customer", 24),
            Column("subject", "Subject", 0),
            Column("assignee", "Assignee", 8),
            Column("sla", "SLA", 16),
        ]
    else:
        cols = [
            Column("reference", "Reference", 15),
            Column("status", "Status", 13),
            Column("customer", "Customer", 14),
            Column("subject", "Subject", 0),
            Column("sla", "SLA", 13),
        ]
    fixed = MARKS + sum(c.width for c in cols) + len(cols) - 1
    for c in cols:
        if c.key == "subject":
            c.width = max(6, width - fixed)
    return cols


__all__ = ["MAIL_MARK", "MARKS", "SHORT_STATUS", "TAG_MARK", "UNREAD_MARK", "Column", "layout"]
