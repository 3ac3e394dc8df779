"""Bulk actions on tagged tickets: the same workflow service as the
single-ticket action, once per ticket, each in its own transaction with
the version the person tagged (a ticket someone else changed meanwhile is
refused, not overwritten). Every ticket gets its own result; a refusal is a
result like any other. Roles and rules are the services'. No Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from app.config import DeskConfig
from app.db import Desk
from app.errors import DeskError, StaleTicket
from app.identity import Actor
from app.labels import in_words
from app.queue_query import QueueQuery, count, page
from models.enums import CloseReason

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.workflow.preview import MailPreview

# what a bulk action does, in words: (verb for the confirmation, one ticket's result, the summary's word)
ACTIONS: dict[str, tuple[str, str, str]] = {
    "assign": ("Assign", "assigned to {value}", "assigned"),
    "triage": ("Triage out of scope", "triaged out of scope", "triaged"),
    "note": ("Add a note to", "note added", "noted"),
    "close": ("Close", "closed", "closed"),
}
# close reasons a person may choose (final responses and out-of-scope have services of their own)
CLOSE_CHOICES: tuple[str, ...] = (
    CloseReason.ACCEPTED.value,
    CloseReason.NO_REPLY.value,
    CloseReason.WITHDRAWN.value,
    CloseReason.ANSWERED.value,
)
SAMPLE_TRIES = 5  # tickets a mail's sample is tried on before the confirmation goes without one
TAG_LIMIT = 1000  # most tickets one "tag all matching" takes (and one bulk action works on)


@dataclass(frozen=True)
class Target:
    """A tagged ticket, with the version the person saw when tagging it
    (None: whatever version it has, as the shell's commands without --version)."""

    id: int
    reference: str
    version: int | None


@dataclass(frozen=True)
class Result:
    reference: str
    done: bool
    text: str  # what was done, or why it was refused (in words)


class BulkService(Protocol):
    """A workflow service a bulk action runs: one ticket, one value, its own version check."""

    def __call__(
        self,
        session: Session,
        actor: Actor,
        reference: str,
        value: str,
        /,
        *,
        expected_version: int | None = ...,
        now: datetime,
        config: DeskConfig,
    ) -> object: ...


def service(name: str) -> BulkService:
    """The workflow service behind bulk action `name` (same as the ticket screen's)."""
    import app.workflow as wf

    services: dict[str, BulkService] = {
        "assign": wf.assign,
        "triage": wf.triage,
        "note": wf.add_note,
        "close": wf.close,
    }
    return services[name]


def run(
    desk: Desk,
    actor: Actor,
    targets: Iterable[Target],
    name: str,
    value: str,
    *,
    now: Callable[[], datetime],
    config: DeskConfig,
    progress: Callable[[int], None] | None = None,
) -> list[Result]:
    """Apply bulk action `name` with `value` (login, category, note text or
    close reason) to each target in turn; one Result per target, in order."""
    fn = service(name)
    done = ACTIONS[name][1].format(value=value)
    results: list[Result] = []
    for n, t in enumerate(targets, start=1):
        try:
            with desk.session() as s:
                fn(s, actor, t.reference, value, expected_version=t.version, now=now(), config=config)
        except StaleTicket as exc:
            results.append(
                Result(
                    t.reference, False, f"changed by {exc.changed_by or 'someone'} since you tagged it; left as it is"
                )
            )
        except DeskError as exc:  # its text names the ticket: the result line already does
            text = str(exc).removeprefix(t.reference).removeprefix(":").strip()
            results.append(Result(t.reference, False, in_words(text)))
        else:
            results.append(Result(t.reference, True, done))
        if progress is not None:
            progress(n)
    return results


def sample_mail(
    desk: Desk,
    actor: Actor,
    targets: Sequence[Target],
    name: str,
    value: str,
    *,
    now: datetime,
    config: DeskConfig,
    tries: int = SAMPLE_TRIES,
) -> tuple[str, list[MailPreview]] | None:
    """(the reference, the customer mail its service would queue) for the first
    of the first `tries` targets the action is not refused on, exactly as it
    would be queued (app.workflow.preview: rolled back); None when each is refused."""
    from app.workflow.preview import mail_preview

    fn = service(name)
    for t in targets[:tries]:

        def change(s: Session, at: datetime, ref: str = t.reference, version: int | None = t.version) -> object:
            return fn(s, actor, ref, value, expected_version=version, now=at, config=config)

        try:
            return t.reference, mail_preview(desk, actor.login, change, now)
        except DeskError:
            continue
    return None


def matching(desk: Desk, query: QueueQuery, now: datetime, limit: int = TAG_LIMIT) -> tuple[list[Target], int]:
    """The first `limit` tickets of a queue view and filter, in its order,
    and how many it holds in all (for "tag every row matching")."""
    with desk.reader() as s:
        rows = page(s, query, now, 0, limit)
        total = len(rows) if len(rows) < limit else count(s, query, now)
    return [Target(r.id, r.reference, r.version) for r in rows], total


def assignees(desk: Desk) -> list[tuple[str, str]]:
    """Who tagged tickets may be assigned to (each ticket's own rule still applies)."""
    from app.staff import assignable

    with desk.reader() as s:
        return assignable(s)


def summary(name: str, results: list[Result]) -> str:
    """'3 of 4 closed · 1 refused'."""
    ok = sum(r.done for r in results)
    head = f"{ok} of {len(results)} {ACTIONS[name][2]}"
    refused = len(results) - ok
    return head + (f" · {refused} refused" if refused else "")


__all__ = [
    "ACTIONS",
    "CLOSE_CHOICES",
    "TAG_LIMIT",
    "Result",
    "Target",
    "assignees",
    "matching",
    "run",
    "sample_mail",
    "service",
    "summary",
]
