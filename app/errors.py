"""Errors the services raise. Each carries one line a person can act on; the
CLI prints it and exits 2, the console shows it as a notification."""

from __future__ import annotations


class DeskError(Exception):
    """Base class: a refusal or bad input, explained in one line."""

    exit_code = 2

    def __str__(self) -> str:  # one line, always
        return " ".join(str(a) for a in self.args).replace("\n", " ")


class ConfigError(DeskError):
    """The desk's configuration is malformed."""


class InputError(DeskError):
    """Bad input from a person or a file (dates, facts, paths...)."""


class AccessDenied(DeskError):
    """The acting staff member may not do this (role or impartiality rule)."""


class NotFound(DeskError):
    """No such ticket, staff member, order..."""


class IllegalTransition(DeskError):
    """The workflow does not allow this step from the ticket's current state."""


class StaleTicket(DeskError):
    """Optimistic lock: somebody else changed the ticket since it was read."""

    def __init__(self, reference: str, changed_by: str | None, changed_at: object) -> None:
        self.reference = reference
        self.changed_by = changed_by
        self.changed_at = changed_at
        when = changed_at.isoformat(timespec="seconds") if hasattr(changed_at, "isoformat") else changed_at
        super().__init__(
            f"{reference} was changed by {changed_by or 'someone'} at {when}; reloaded, nothing overwritten"
        )
