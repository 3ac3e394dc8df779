"""Type-ahead helpers: keys sent in one burst, the way a laggy link or tmux
`send-keys -l` delivers them (nothing is processed between them)."""

from __future__ import annotations

from textual import events
from textual.keys import _character_to_key

# items of a burst taken as key names; anything else is text typed a character at a time
KEY_CHARS = {
    "enter": "\r",
    "tab": "\t",
    "escape": "\x1b",
    "backspace": "\x7f",
    "space": " ",
    "ctrl+s": "\x13",
    "ctrl+r": "\x12",
    "ctrl+t": "\x14",
    "down": None,
    "up": None,
    "left": None,
    "right": None,
}


def key_events(*items: str) -> list[events.Key]:
    """The events.Key a terminal sends for each item: a key name from KEY_CHARS,
    or text (one event per character)."""
    out = []
    for item in items:
        if item in KEY_CHARS:
            out.append(events.Key(item, KEY_CHARS[item]))
            continue
        for ch in item:
            out.append(events.Key(ch if ch.isalnum() else _character_to_key(ch), ch))
    return out


async def burst(pilot, *items: str, timeout: float = 60.0) -> None:
    """Post every key of `items` to the app at once, as one read from the
    terminal delivers them (no pause, no processing between them); then
    wait until the app has handled them all."""
    import asyncio
    import time

    app = pilot.app
    for ev in key_events(*items):
        ev.set_sender(app)
        app._driver.send_message(ev)
    read = asyncio.Event()
    app.call_later(read.set)  # runs once the App has taken in every key posted before it
    await asyncio.wait_for(read.wait(), timeout)
    deadline = time.monotonic() + timeout
    while app.keys_waiting and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert not app.keys_waiting, f"{app.keys_waiting} keys still waiting after {timeout}s"
