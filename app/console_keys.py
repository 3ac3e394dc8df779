"""Type-ahead for the console: keys are handled one at a time, in order.

Textual hands each key to the widget focused *when the key is read* and
moves on to the next key at once; the key then travels through message
queues (widget -> parents -> screen -> app, where bindings run). A burst of
keys (a paste-like `tmux send-keys`, a laggy SSH link) therefore races its
own effects: keys typed after `n` reach the ticket screen before the note
prompt is up (and fire its one-letter actions), letters after `/` reach the
table before the filter input has focus (`M` opened the quarantine), and a
priority `ctrl+s` saved a note while most of its letters were still queued.

`TypeAheadApp` fixes that at the mechanism: raw keys and pastes wait in a
buffer and are dispatched one by one. A key is sent only when

- the key before it has been handled: a `KeysHandled` marker posted to the
  same widget right behind it has bubbled back up to the App (so the key's
  binding, which the App runs, has run too);
- what that handling caused has settled: the top screen is mounted (a prompt
  pushed by the key has composed and focused its input) and no widget of the
  top screen has messages waiting (an `Input.Submitted` that moves focus);
- the top screen's own work is done: a screen may name worker groups in
  `KEY_BLOCKING_WORKERS` (the ticket screen: saving a change, reading the
  ticket again), and keys wait while one of those runs, so a key typed
  after "acknowledge" acts on the acknowledged ticket;
- nobody holds the keys: `hold_keys()` lets work done in a thread (reading a
  ticket before its screen opens, loading a draft into a prompt, saving a
  prompt's text) keep later keys waiting until it is done.

So every key goes to the widget focused once all earlier keys were handled.
A watchdog lets keys go should a marker be lost with a widget removed
under it, so the keyboard can never lock up.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any

from textual import events
from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump
from textual.timer import Timer
from textual.worker import WorkerState

from widgets.textual_compat import idle

KEY_WATCHDOG = 5.0  # seconds a key may take before the next one goes anyway
SETTLE_PATIENCE = 3.0  # seconds to wait for the screen's widgets to go quiet
WORK_PATIENCE = 10.0  # seconds to wait for a screen to mount, or for its KEY_BLOCKING_WORKERS
_ACTIVE = (WorkerState.PENDING, WorkerState.RUNNING)
HOLD_SECONDS = 3.0  # default cap of a hold


class KeysHandled(Message):
    """Posted behind a dispatched key to the widget it went to; back at the
    App it says that the key (and its binding) was handled."""

    def __init__(self, seq: int) -> None:
        super().__init__()
        self.seq = seq


def _quiet(node: MessagePump) -> bool:
    """Nothing waiting in `node`'s message queue."""
    return idle(node)


class TypeAheadApp(App[Any]):
    """An App whose keys (and pastes) are dispatched in order, each one after
    the previous one was handled (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys: deque[events.Event] = deque()
        self._key_out: int | None = None  # seq of the key being handled
        self._key_sent_at = 0.0
        self._key_target: MessagePump | None = None
        self._watchdog: Timer | None = None  # a 4 Hz check for a lost marker, started with the first key
        self._key_seq = 0
        self._key_check = False  # a _next_key is queued
        self._settle_since: float | None = None
        self._holds: dict[object, tuple[float, Callable[[], bool] | None]] = {}

    # -- holds -----------------------------------------------------------------
    def hold_keys(self, token: object, until: Callable[[], bool] | None = None, seconds: float = HOLD_SECONDS) -> None:
        """Keep keys typed from now on waiting until `release_keys(token)`,
        until `until()` is true, or `seconds` have passed (whichever first)."""
        self._holds[token] = (monotonic() + seconds, until)

    def release_keys(self, token: object) -> None:
        if self._holds.pop(token, None) is not None:
            self._schedule_key()

    def _held(self) -> bool:
        now = monotonic()
        for token, (deadline, until) in list(self._holds.items()):
            if now >= deadline or (until is not None and until()):
                del self._holds[token]
        return bool(self._holds)

    @property
    def keys_waiting(self) -> int:
        """Keys read but not yet dispatched (tests, diagnostics)."""
        return len(self._keys) + (self._key_out is not None)

    # -- routing -------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            self._keys.append(event)
            self._schedule_key()
            return
        await super().on_event(event)

    def _schedule_key(self) -> None:
        """Look at the buffer after everything already queued on the App
        (a focus change the last key asked for runs first)."""
        if self._keys and not self._key_check:
            self._key_check = self.call_later(self._next_key)

    def _unsettled(self) -> float | None:
        """None when the next key may go; else how long at most to wait for
        the top screen (mounting, its widgets' messages, its own work)."""
        try:
            screen = self.screen
        except Exception:  # noqa: BLE001 - keys typed before the first screen is up wait for it
            return WORK_PATIENCE
        if not screen.is_mounted:
            return WORK_PATIENCE
        blocking = getattr(screen, "KEY_BLOCKING_WORKERS", ())
        if blocking and any(w.node is screen and w.group in blocking and w.state in _ACTIVE for w in self.workers):
            return WORK_PATIENCE
        if not all(_quiet(node) for node in screen.walk_children(with_self=True)):
            return SETTLE_PATIENCE
        return None

    async def _next_key(self) -> None:
        self._key_check = False
        if self._key_out is not None or not self._keys:
            return
        if self._held():
            await asyncio.sleep(0.005)
            self._schedule_key()
            return
        patience = self._unsettled()
        if patience is not None:
            now = monotonic()
            if self._settle_since is None:
                self._settle_since = now
            if now - self._settle_since < patience:
                await asyncio.sleep(0.001)  # let the screen's widgets run, then look again
                self._schedule_key()
                return
        self._settle_since = None
        event = self._keys.popleft()
        target = self.focused or self.screen
        self._key_seq += 1
        seq = self._key_out = self._key_seq
        self._key_sent_at = monotonic()
        await super().on_event(event)  # priority bindings, else forwarded to `target`
        if self._key_out == seq and not target.post_message(KeysHandled(seq)):
            self._key_done(seq)
            return
        self._key_target = target
        if self._watchdog is None:
            self._watchdog = self.set_interval(0.25, self._watch_key)

    def on_keys_handled(self, message: KeysHandled) -> None:
        message.stop()
        self._key_done(message.seq)

    def _key_done(self, seq: int) -> None:
        if self._key_out == seq:
            self._key_out = None
            self._schedule_key()

    def _watch_key(self) -> None:
        """The marker is lost when its widget is removed before passing it
        on; then (or after KEY_WATCHDOG) the next key goes."""
        seq, target = self._key_out, self._key_target
        if seq is None or target is None:
            return
        gone = target._closing or target._closed or not target.is_attached
        if gone or monotonic() - self._key_sent_at > KEY_WATCHDOG:
            self._key_done(seq)
