"""Many small writes, several to a commit, each still all-or-nothing.

`GroupedWrites` is what `Desk.grouped()` yields: `with writes() as session:`
runs one item in a SAVEPOINT of the open transaction (an error undoes that
item only), and the transaction commits every `size` items or `seconds` after
it began, whichever comes first, and at the end. A process killed between two
commits loses the uncommitted items whole, never part of one, so a re-run
that skips what is already stored gives exactly the result of a clean run.
`after_commit(fn)` runs `fn` once everything written so far is committed (a
caller acknowledging an item outside the database waits for that).

Unguarded (`guarded=False`): items run without their savepoints (two
statements, on PostgreSQL two round trips, an item fewer), and an item that
fails takes its whole open group with it: the transaction is rolled back and
`GroupLost` raised, and the caller runs the group's items again, guarded
(`replaying()`). So does a commit of an unguarded group that fails (work the
transaction deferred to its commit: app.mail.deferred_index); the caller
ends a batch with `finish()`, which commits the last group the same way.
What ends committed is then exactly what the guarded run
commits; a failure costs its group twice the work, which is rare (intake:
a message that cannot be routed).

Committing once per group instead of once per item is what makes intake fast:
a commit (BEGIN IMMEDIATE, the WAL write, on PostgreSQL a flush to disk) cost
more than routing a message. The lock is held at most `seconds` at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session


class GroupLost(Exception):
    """An unguarded item failed: its whole open group was rolled back (the
    caller runs the group's items again, guarded)."""


class GroupedWrites:
    """Items written in savepoints, committed in groups (see the module)."""

    def __init__(self, session: Session, size: int, seconds: float, *, guarded: bool = True) -> None:
        self.session = session
        self.size = max(1, size)
        self.seconds = seconds
        self.guarded = guarded
        self._items = 0  # items in the open transaction
        self.last_size = 0  # items the last group committed (size, or fewer when its time ran out)
        self._began = 0.0
        self._after: list[Callable[[], None]] = []
        self._before: list[Callable[[], None]] = []  # writes an unguarded group keeps until its commit
        # what the items of the open group may share (lookups made in it);
        # emptied whenever the group's writes are committed or undone
        self.cache: dict[str, Any] = {}
        session.info["grouped_cache"] = self.cache
        session.info["grouped_writes"] = self

    @property
    def open_items(self) -> int:
        """Items written in the open group (0 right after a commit)."""
        return self._items

    def begin(self) -> Session:
        """The session, its group's transaction begun (a group's first lookups run in it)."""
        if not self.session.in_transaction():
            self._began = time.monotonic()
            self.session.connection()  # begins it
        return self.session

    @contextmanager
    def replaying(self) -> Iterator[None]:
        """Guarded while the block runs (the items of a lost group, again)."""
        guarded, self.guarded = self.guarded, True
        try:
            yield
        finally:
            self.guarded = guarded

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        session = self.session
        if not session.in_transaction():
            self._began = time.monotonic()
        if not self.guarded:
            try:
                yield session
                session.flush()  # what the ORM still holds, before it is let go below
            except Exception as exc:
                self.rollback()
                raise GroupLost(str(exc)) from exc
            except BaseException:
                self.rollback()
                raise
            finally:
                session.expunge_all()
            self._items += 1
            if self._due():
                self.finish()  # a commit may fail too (work deferred to it: app.mail.deferred_index)
            return
        savepoint = session.begin_nested()  # begins the group's transaction first when none is open
        try:
            yield session
            savepoint.commit()
        except BaseException:
            # also after a failed flush (the savepoint is then deactivated, and the
            # session refuses work until it is rolled back): back to the savepoint only
            savepoint.rollback()
            self.cache.clear()  # it may hold what the savepoint undid
            raise
        finally:
            session.expunge_all()  # memory stays flat over a long batch
        self._done()

    def _done(self) -> None:
        self._items += 1
        if self._due():
            self.commit()

    def _due(self) -> bool:
        """Whether the open group is full, or its time is up."""
        return self._items >= self.size or time.monotonic() - self._began >= self.seconds

    def finish(self) -> None:
        """Commit the open group; one written unguarded that fails to commit is
        rolled back and GroupLost raised (the caller runs its items again, guarded)."""
        try:
            self.commit()
        except Exception as exc:
            if self.guarded:
                raise
            self.rollback()
            raise GroupLost(str(exc)) from exc

    def before_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` in the open group's transaction just before it commits (what
        its items kept in memory, written once: app.references); forgotten
        when the group is rolled back."""
        self._before.append(fn)

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` once what was written so far is committed (now, when it is)."""
        if self._items == 0 and not self.session.in_transaction():
            fn()
        else:
            self._after.append(fn)

    def commit(self) -> None:
        """Commit the open group (if any), then run what waited for it."""
        before, self._before = self._before, []
        for fn in before:
            fn()
        if self.session.in_transaction():
            self.session.commit()
        self.last_size, self._items = self._items, 0
        self.cache.clear()
        waiting, self._after = self._after, []
        for fn in waiting:
            fn()

    def rollback(self) -> None:
        """Give up the open group: its items are not stored, nothing waiting runs."""
        if self.session.in_transaction():
            self.session.rollback()
        self._items = 0
        self.cache.clear()
        self._after = []
        self._before = []
