"""What every sub-command shares: the config and a lazily opened database.

This is the edge where the user's config file is read (once, here); every
service, the console and the wall are handed it (tests/test_explicit_config.py
checks that no other module reads the file)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from app.config import DeskConfig, load_config

if TYPE_CHECKING:
    from app.db import Desk
    from app.identity import Actor

    # what `register(sub)` of each command module receives
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

# what a sub-command's parser calls (set_defaults(func=...)): its exit status
Handler = Callable[[argparse.Namespace, "CliContext"], int]


class CliContext:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._desk: Desk | None = None

    @cached_property
    def config(self) -> DeskConfig:
        return load_config()

    @property
    def db_url(self) -> str:
        from app.db import resolve_url

        return resolve_url(getattr(self.args, "db", None), self.config)

    def safe_db_url(self) -> str | None:
        """The database URL for a message, or None when it cannot be worked out."""
        try:
            return self.db_url
        except Exception:  # noqa: BLE001
            return getattr(self.args, "db", None)

    @property
    def desk(self) -> Desk:
        """The opened (and migrated, if new) database."""
        if self._desk is None:
            from app.db import open_desk

            half_built_ok = getattr(self.args, "half_built_ok", False)  # a command that rebuilds it (demo)
            self._desk = open_desk(self.db_url, config=self.config, half_built_ok=half_built_ok)
        return self._desk

    def actor(self) -> Actor:
        """The staff member running this command (OS login, or --as on a demo desk)."""
        from app.identity import resolve_actor

        with self.desk.reader() as session:  # a read: never waits for the write lock
            return resolve_actor(session, getattr(self.args, "as_login", None))

    def close(self) -> None:
        if self._desk is not None:
            self._desk.dispose()
