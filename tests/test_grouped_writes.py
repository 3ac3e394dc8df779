"""Writes committed in groups (app.grouped_writes), on each engine: an item that
fails is undone alone, the others of its group commit; nothing is committed
before its group is; what waits for a commit runs after it, never before."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.db import open_desk
from mail_helpers import NOW
from models import Staff
from pg_fixtures import engine_url  # noqa: F401  (fixture)


def _logins(desk) -> list[str]:
    with desk.reader() as s:
        return sorted(s.scalars(select(Staff.login)).all())


def test_a_failed_item_is_undone_alone_and_the_group_commits_together(engine_url):
    desk = open_desk(engine_url)
    try:
        done: list[str] = []
        with desk.grouped(size=3, seconds=60) as writes:
            with writes() as s:
                s.add(Staff(login="ann", name="Ann", created_at=NOW))
            writes.after_commit(lambda: done.append("ann"))
            with pytest.raises(IntegrityError), writes() as s:
                s.add(Staff(login="ann", name="Ann again", created_at=NOW))  # the unique login: this item only fails
            assert _logins(desk) == [] and done == []  # another connection sees nothing before the group commits
            for login in ("bob", "cy"):  # the third stored item closes the group of 3
                with writes() as s:
                    s.add(Staff(login=login, name=login.title(), created_at=NOW))
            assert _logins(desk) == ["ann", "bob", "cy"] and done == ["ann"]
            with writes() as s:
                s.add(Staff(login="dee", name="Dee", created_at=NOW))
            writes.after_commit(lambda: done.append("dee"))
            assert done == ["ann"]
        assert _logins(desk) == ["ann", "bob", "cy", "dee"] and done == [
            "ann",
            "dee",
        ]  # the last group commits at the end
    finally:
        desk.dispose()


def test_a_batch_that_fails_rolls_back_its_open_group_only(engine_url):
    desk = open_desk(engine_url)
    try:
        done: list[str] = []
        with pytest.raises(RuntimeError), desk.grouped(size=2, seconds=60) as writes:
            for login in ("ann", "bob", "cy"):
                with writes() as s:
                    s.add(Staff(login=login, name=login, created_at=NOW))
                writes.after_commit(lambda login=login: done.append(login))
            raise RuntimeError("killed")
        assert _logins(desk) == ["ann", "bob"] and done == ["ann", "bob"]  # cy's group never committed
        with desk.reader() as s:
            assert s.scalar(select(func.count(Staff.id))) == 2
    finally:
        desk.dispose()
