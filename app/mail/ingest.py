"""`ingest_paths`: a batch of messages -> tickets, each message all or nothing.

Every message read ends as exactly one of created / linked / duplicate /
quarantined (the shared intake contract); `Summary.read` is their sum. A batch
commits a group of messages at a time (app.grouped_writes), so a crash
mid-batch loses at most the open group, whole, and a re-run finds the
committed ones again by Message-ID (or by sha256 of sender|date|body) and
reports them as duplicates. A group runs without savepoints; a message that
fails rolls its group back, and the group runs again with a savepoint a
message, so the failure undoes that message only: anything that fails while
routing is quarantined with its raw bytes instead of being dropped. A group
looks up once which of its messages are stored and who their senders are
(app.mail.group_lookups). The routing of one message is app.mail.routing.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from app.config import DeskConfig
from app.errors import DeskError
from app.grouped_writes import GroupedWrites, GroupLost
from app.mail import sources
from app.mail.deferred_index import defer_new_ticket_index
from app.mail.fresh_stats import FreshStats
from app.mail.group_lookups import Ahead, covers, look_up, lookups
from app.mail.parse import FUTURE_DATE_SLACK, ParsedMessage, Unparseable, peek_message_id, raw_key, storable
from app.mail.parse_ahead import parse_outcome, parsed_stream
from app.mail.routing import CREATED, DUPLICATE, LINKED, QUARANTINED, route_message
from app.mail.sources import RawMessage
from app.prepared import Prepared
from models import Quarantine

if TYPE_CHECKING:
    from app.db import Desk

log = logging.getLogger("esimdesk.intake")

GROUP_MESSAGES = 256  # messages per commit in a batch ...
GROUP_SECONDS = 0.1  # ... or fewer: the write lock is never held longer than this


@dataclass
class Item:
    source: str
    message_id: str | None
    result: str
    ticket: str | None = None
    reason: str | None = None


@dataclass
class Summary:
    items: list[Item] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for i in self.items if i.result == result)

    @property
    def read(self) -> int:
        return len(self.items)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "created": self.count(CREATED),
            "linked": self.count(LINKED),
            "duplicate": self.count(DUPLICATE),
            "quarantined": self.count(QUARANTINED),
            "items": [asdict(i) for i in self.items],
        }


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def ingest_paths(
    desk: Desk,
    paths: Iterable[str | Path],
    now: datetime | None = None,
    *,
    config: DeskConfig | None = None,
    on_item: Callable[[Item, RawMessage], None] | None = None,
) -> Summary:
    """Ingest every message under `paths` (.eml, Maildir, mbox).

    InputError before anything is read when a PATH cannot be read at all.
    Messages commit in groups (GROUP_MESSAGES, or GROUP_SECONDS after the
    group began), a failure undoes that message only (the group runs without
    savepoints until one fails, then again with a savepoint a message: see
    app.grouped_writes), a kill undoes the open group whole, and a re-run
    finds the committed ones as duplicates. `on_item(item, raw_message)` is called once
    the message's group is committed."""
    checked = sources.check_paths([Path(p) for p in paths])
    config = config or DeskConfig()  # the caller's config (the CLI loads it), else the built-in defaults
    summary = Summary()
    messages = (rm for path, kind in checked for rm in sources.iter_messages(path, kind))
    with desk.grouped(GROUP_MESSAGES, GROUP_SECONDS) as writes, _old_objects_frozen():
        writes.guarded = False  # no savepoint a message: a failure replays its group, guarded
        fresh = FreshStats(writes.session)  # PostgreSQL: a desk the batch grows from empty is analyzed
        defer_new_ticket_index(writes.session)  # PostgreSQL: a group's new tickets indexed at its commit
        group: list[tuple[RawMessage, ParsedMessage | Unparseable]] = []  # the open group's messages
        ingest = partial(ingest_raw, desk, now=now, config=config, transaction=writes)
        ahead = Ahead(parsed_stream(messages))
        for rm, outcome in ahead:
            if isinstance(outcome, ParsedMessage) and not covers(writes.begin(), outcome.dedupe_key):
                # once for the messages the group is likely to hold (as many as the last one, and half again)
                expected = min(GROUP_MESSAGES, max(16, writes.last_size * 3 // 2))
                look_up(writes.session, ahead.lookup_keys(rm, outcome, expected))
            try:
                item = ingest(rm, parsed=outcome)
            except GroupLost:  # rolled back whole: each message of the group again, in its savepoint
                lost, group = [*group, (rm, outcome)], []
                del summary.items[len(summary.items) - len(lost) + 1 :]
                _replay(summary, writes, group, lost, ingest, on_item)
                continue
            _stored(summary, writes, group, rm, outcome, item, on_item)
            if writes.open_items == 0:
                fresh.grown(len(summary.items))
        try:
            writes.finish()  # the last group, whose commit may fail like any other's
        except GroupLost:
            lost, group = group, []
            del summary.items[len(summary.items) - len(lost) :]
            _replay(summary, writes, group, lost, ingest, on_item)
    return summary


@contextmanager
def _old_objects_frozen() -> Iterator[None]:
    """While a batch runs, the cyclic collector leaves alone every object that
    existed before it (the imports, the ORM, the compiled statements: about
    100k); the batch's own garbage is collected as before.

    The collector's full pass over them came once or twice a batch and took
    100-300 ms, 10-30 us a message of a 10,000-message batch (the intake
    bench). Once the batch ends they are handed back (unless the process had
    frozen objects itself: the console keeps its own frozen)."""
    mine = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        yield
    finally:
        if mine:
            gc.unfreeze()


def _replay(
    summary: Summary,
    writes: GroupedWrites,
    group: list[tuple[RawMessage, ParsedMessage | Unparseable]],
    lost: list[tuple[RawMessage, ParsedMessage | Unparseable]],
    ingest: Callable[..., Item],
    on_item: Callable[[Item, RawMessage], None] | None,
) -> None:
    with writes.replaying():  # the messages of a lost group again, each in its savepoint
        for rm, outcome in lost:
            _stored(summary, writes, group, rm, outcome, ingest(rm, parsed=outcome), on_item)


def _stored(
    summary: Summary,
    writes: GroupedWrites,
    group: list[tuple[RawMessage, ParsedMessage | Unparseable]],
    rm: RawMessage,
    outcome: ParsedMessage | Unparseable,
    item: Item,
    on_item: Callable[[Item, RawMessage], None] | None,
) -> None:
    """Book a message written in the open group (which may just have committed)."""
    summary.items.append(item)
    group.append((rm, outcome))
    if writes.open_items == 0:  # committed: nothing of it can be lost any more
        group.clear()
    if on_item is not None:
        writes.after_commit(partial(on_item, item, rm))


Transaction = Callable[[], AbstractContextManager[Session]]


def ingest_raw(
    desk: Desk,
    rm: RawMessage,
    now: datetime | None = None,
    *,
    config: DeskConfig | None = None,
    parsed: ParsedMessage | Unparseable | None = None,
    transaction: Transaction | None = None,
) -> Item:
    """One message, in its own transaction (`parsed`: its parse outcome, when
    parsed ahead, else it is parsed here; `transaction`: from
    `Desk.batch`, else a session of its own)."""
    now = _utc(now or datetime.now(UTC))
    config = config or DeskConfig()  # the caller's config, else the built-in defaults (never a file)
    transaction = transaction or desk.session
    if parsed is None:
        parsed = parse_outcome(rm.raw)
    limit = config.mail.max_message_bytes
    if len(rm.raw) > limit:  # before anything else: a huge message never reaches a ticket or a screen whole
        return quarantine_raw(
            desk,
            rm,
            f"oversized: {len(rm.raw)} bytes (limit {limit}, [mail] max_message_bytes)",
            now,
            peek_message_id(rm.raw),
            transaction=transaction,
        )
    if isinstance(parsed, Unparseable):
        return quarantine_raw(desk, rm, str(parsed), now, peek_message_id(rm.raw), transaction=transaction)
    received = _utc(parsed.date or rm.mtime or now)
    if received > now + FUTURE_DATE_SLACK:
        received = now
    key = parsed.dedupe_key
    try:
        with transaction() as session:
            group = lookups(session)  # the open group's lookups, when it made them
            new = group is not None and group.is_new(key, parsed.message_id)
            dup = None if new else _find_duplicate(session, parsed.message_id, key)
            if dup is not None:
                return Item(rm.source, parsed.message_id, DUPLICATE, dup or None)
            result, reference = route_message(
                session, parsed, received=received, now=now, config=config, dedupe=key, raw=rm.raw, source=rm.source
            )
            if group is not None:
                group.stored(key, parsed.message_id)
        if result == QUARANTINED:
            log.info("intake: quarantined %s: %s", rm.source, reference)
            return Item(rm.source, parsed.message_id, QUARANTINED, None, reference)
        return Item(rm.source, parsed.message_id, result, reference)
    except GroupLost:  # unguarded: the caller replays the group
        raise
    except IntegrityError:
        # a concurrent intake committed the same message first
        with desk.reader() as session:
            dup = _find_duplicate(session, parsed.message_id, key)
        if dup is not None:
            return Item(rm.source, parsed.message_id, DUPLICATE, dup or None)
        log.warning("intake: integrity error on %s", rm.source)
        return quarantine_raw(
            desk, rm, "could not be stored (integrity error)", now, parsed.message_id, key, transaction=transaction
        )
    except OperationalError as exc:  # the database, not the message: stop; a re-run resumes
        raise DeskError(f"database error while ingesting {rm.source}: {str(exc.orig or exc).splitlines()[0]}") from None
    except Exception as exc:  # never lose a message: keep it for a person
        reason = f"could not be routed: {type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        log.warning("intake: %s %s", rm.source, reason, exc_info=log.isEnabledFor(logging.DEBUG))
        return quarantine_raw(desk, rm, reason, now, parsed.message_id, key, transaction=transaction)


# one round trip: the ticket already holding this message (by dedupe key or
# Message-ID), or "" when it is held in quarantine; no row when it is new
_DUPLICATE_SQL = Prepared(
    text(
        "SELECT t.reference FROM message m JOIN ticket t ON t.id = m.ticket_id WHERE m.dedupe_key = :key "
        "UNION ALL SELECT t.reference FROM message m JOIN ticket t ON t.id = m.ticket_id WHERE m.message_id = :mid "
        "UNION ALL SELECT coalesce(t.reference, '') FROM quarantine q LEFT JOIN ticket t ON t.id = q.ticket_id "
        "WHERE q.dedupe_key = :key LIMIT 1"
    )
)


def _find_duplicate(session: Session, message_id: str | None, key: str) -> str | None:
    """The reference of the ticket that already holds this message ("" when it
    is held in quarantine), or None when the message is new."""
    row = _DUPLICATE_SQL.first(session, {"key": key, "mid": message_id})
    return None if row is None else row[0]


def quarantine_raw(
    desk: Desk,
    rm: RawMessage,
    reason: str,
    now: datetime,
    message_id: str | None = None,
    key: str | None = None,
    *,
    transaction: Transaction | None = None,
) -> Item:
    key = key or raw_key(rm.raw)
    with (transaction or desk.session)() as session:
        existing = _find_duplicate(session, message_id, key)
        if existing is not None:
            return Item(rm.source, message_id, DUPLICATE, existing or None)
        group = lookups(session)
        if group is not None:
            group.stored(key, message_id)
        session.add(
            Quarantine(
                received_at=_utc(rm.mtime or now) if rm.mtime and rm.mtime <= now else now,
                source=storable(rm.source)[:1000],
                message_id=message_id,
                dedupe_key=key,
                reason=reason[:500],
                raw=rm.raw,
            )
        )
    log.info("intake: quarantined %s: %s", rm.source, reason)
    return Item(rm.source, message_id, QUARANTINED, None, reason)
