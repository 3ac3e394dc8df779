"""Lookups an intake group makes once for all its messages.

A group of messages is written in one transaction (app.grouped_writes). When
it starts, one query finds which of the next messages are already stored
(by dedupe key or Message-ID) and one finds their senders' customers; the
per-message checks then ask these answers instead of the database. What the
group writes itself keeps them true: a message it stores marks its keys as
present, a customer it creates or fills in is noted. An answer the lookups do
not hold (a message beyond those looked up, a key seen present) means the
usual statement runs, so the lookups only ever skip a statement whose answer
they know.

They live in the group's cache (`GroupedWrites.cache`, the session's
`info["grouped_cache"]`), emptied when the group commits or is rolled back,
and are only made for an unguarded group: a replayed group (after a failure)
asks the database each time, as a single message does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from app.mail.parse import ParsedMessage, Unparseable
from app.mail.sources import RawMessage
from models import Customer, Message, Quarantine, table_of

Outcome = ParsedMessage | Unparseable

CACHE_KEY = "grouped_cache"
_LOOKUPS = "intake_lookups"
_M, _Q, _C = table_of(Message), table_of(Quarantine), table_of(Customer)
_STORED = (
    select(_M.c.dedupe_key, _M.c.message_id)
    .where(
        _M.c.dedupe_key.in_(bindparam("keys", expanding=True)) | _M.c.message_id.in_(bindparam("mids", expanding=True))
    )
    .union_all(select(_Q.c.dedupe_key, _Q.c.dedupe_key).where(_Q.c.dedupe_key.in_(bindparam("keys", expanding=True))))
)
_CUSTOMERS = (
    select(_C.c.id, func.lower(_C.c.email), _C.c.name, _C.c.phone, _C.c.language)
    .where(func.lower(_C.c.email).in_(bindparam("emails", expanding=True)))
    .order_by(_C.c.id)
)


@dataclass
class Known:
    """A customer as the group knows it: id, and whether name and phone are filled in."""

    id: int
    has_name: bool
    has_phone: bool


@dataclass
class GroupLookups:
    checked: set[str] = field(default_factory=set)  # dedupe keys and Message-IDs looked up
    present: set[str] = field(default_factory=set)  # ... found stored, or stored by the group since
    emails: set[str] = field(default_factory=set)  # sender addresses (lower case) looked up
    customers: dict[str, Known] = field(default_factory=dict)  # ... found, or created by the group
    languages: dict[int, str | None] = field(default_factory=dict)  # customer id -> language, where known

    def is_new(self, key: str, message_id: str | None) -> bool:
        """Whether the message is surely not stored yet (False: ask the database)."""
        ids = (key,) if message_id is None else (key, message_id)
        return all(i in self.checked and i not in self.present for i in ids)

    def stored(self, key: str | None, message_id: str | None) -> None:
        self.present.update(i for i in (key, message_id) if i)

    def knows(self, email: str) -> bool:
        """Whether the lookups say if a customer has this address (lower case)."""
        return email in self.customers or email in self.emails


def lookups(session: Session) -> GroupLookups | None:
    """The lookups of the session's open group, if it made any."""
    cache = session.info.get(CACHE_KEY)
    found = cache.get(_LOOKUPS) if cache is not None else None
    return found if isinstance(found, GroupLookups) else None


def covers(session: Session, key: str) -> bool:
    """Whether the open group's lookups include the message with dedupe key `key`."""
    found = lookups(session)
    return found is not None and key in found.checked


def look_up(session: Session, messages: Iterable[tuple[str, str | None, str]]) -> None:
    """Make (or extend) the open group's lookups for `messages`: (dedupe key,
    Message-ID, sender address) each. Two queries, in the group's transaction."""
    cache = session.info.get(CACHE_KEY)
    if cache is None:
        return
    found = cache.get(_LOOKUPS)
    if not isinstance(found, GroupLookups):
        found = cache[_LOOKUPS] = GroupLookups()
    keys, mids, emails = set(), set(), set()
    for key, mid, sender in messages:
        keys.add(key)
        if mid:
            mids.add(mid)
        if sender.strip():
            emails.add(sender.strip().lower())
    keys -= found.checked
    mids -= found.checked
    emails -= found.emails
    if keys or mids:
        rows = session.connection().execute(_STORED, {"keys": sorted(keys), "mids": sorted(mids)})
        for key, mid in rows:
            found.stored(key, mid)
        found.checked |= keys | mids
    if emails:
        for cid, email, name, phone, language in session.connection().execute(_CUSTOMERS, {"emails": sorted(emails)}):
            if email not in found.customers:  # the first by id, as the single lookup takes
                found.customers[email] = Known(cid, bool(name), bool(phone))
                found.languages[cid] = language
        found.emails |= emails


class Ahead:
    """The parsed stream, with a look at the messages coming next."""

    def __init__(self, stream: Iterator[tuple[RawMessage, Outcome]]) -> None:
        self._stream = stream
        self._next: deque[tuple[RawMessage, Outcome]] = deque()

    def __iter__(self) -> Iterator[tuple[RawMessage, Outcome]]:
        while True:
            if self._next:
                yield self._next.popleft()
                continue
            found = next(self._stream, None)
            if found is None:
                return
            yield found

    def lookup_keys(self, rm: RawMessage, parsed: ParsedMessage, n: int) -> list[tuple[str, str | None, str]]:
        """(dedupe key, Message-ID, sender) of this message and the next ones, `n` in all."""
        self._next.extend(islice(self._stream, max(0, n - 1 - len(self._next))))
        found = [(parsed.dedupe_key, parsed.message_id, parsed.from_addr or "")]
        for _rm, outcome in islice(self._next, n - 1):
            if isinstance(outcome, ParsedMessage) and len(_rm.raw) <= LOOKUP_MAX_BYTES:
                found.append((outcome.dedupe_key, outcome.message_id, outcome.from_addr or ""))
        return found


LOOKUP_MAX_BYTES = 1 << 20  # past this a message may be held as oversized: not worth a look ahead
