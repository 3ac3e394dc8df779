"""The console and the wall end when their terminal goes away.

A dropped SSH link or a closed terminal window usually sends SIGHUP, and the
process ends. When the signal does not reach it (a wrapper that ignores or
swallows it: `make run` under tmux, `nohup`, a login script with a trap), the
terminal is gone all the same and Textual does not notice: its input thread
reads end of file in a loop (about half a CPU, measured on a `make run` whose
tmux session was killed: 7 CPU minutes in 14 minutes), its output thread dies
at the first write, and the app then blocks for ever on its full output queue,
holding its desk open.

`watch_terminal(fd, on_gone)` waits, in a thread and without using the CPU,
for the terminal on `fd` to hang up (poll reports POLLHUP whatever it is
asked for). It then calls `on_gone` (the app's exit, scheduled thread-safely)
and, should the process still be running after `grace` seconds (the event
loop stuck on the dead output), ends it with status 129 (128 + SIGHUP), as
the signal would have. Drafts are saved a moment after each change
(app/drafts.py), so what was typed is kept up to that moment either way.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from typing import Protocol

GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL
GRACE_SECONDS = 5.0


def watch_terminal(
    fd: int, on_gone: Callable[[], object], grace: float = GRACE_SECONDS, end: Callable[[int], object] = os._exit
) -> threading.Thread | None:
    """Start the watch on terminal `fd` (None, and nothing started, when `fd` is not a terminal)."""
    try:
        if not os.isatty(fd):
            return None
    except OSError:
        return None

    def run() -> None:
        poller = select.poll()
        poller.register(fd, 0)  # no events asked: only hang-up and errors come back
        while not any(mask & GONE for _fd, mask in poller.poll()):
            pass
        try:
            on_gone()
        finally:
            threading.Event().wait(grace)
            end(128 + signal.SIGHUP)

    thread = threading.Thread(target=run, name="terminal-watch", daemon=True)
    thread.start()
    return thread


class _App(Protocol):
    @property
    def is_headless(self) -> bool: ...

    def exit(self, result: None = None, return_code: int = 0, message: None = None) -> None: ...


def exit_when_terminal_gone(app: _App) -> threading.Thread | None:
    """From an app's mount (in its event loop): the app exits with status 129 once its terminal hangs up."""
    stdin = sys.__stdin__
    if app.is_headless or stdin is None:
        return None
    loop = asyncio.get_running_loop()
    return watch_terminal(stdin.fileno(), lambda: loop.call_soon_threadsafe(app.exit, None, 128 + signal.SIGHUP))
