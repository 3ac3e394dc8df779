"""Keys typed while the console starts are kept as they were typed.

`esimdesk` takes about half a second to import and open its first screen.
Until Textual puts the terminal in raw mode, the terminal is in line mode: it
echoes what is typed over the shell's screen and turns Enter (CR) into a
newline (LF) as each key arrives. Textual then reads that newline as ctrl+j,
which nothing binds, so a burst such as `/RFD-2026-000215` Enter typed as the
command starts filtered the queue and opened nothing (seen in tmux).

`hold_start_keys(fd)` runs first thing in `esimdesk` (app.cli.main), before
the heavy imports: it turns off line mode, echo and the CR to LF translation
on the terminal, so each key stays in the terminal's input queue exactly as
typed until the first screen reads it. Ctrl+C still interrupts a start.
Textual saves and restores the mode it finds, which is this one, so the
terminal's own mode is put back at exit (atexit, and by the returned hold).

Keys that reached the terminal before this ran (typed just after the command,
while the shell started it and Python loaded) were read in line mode, their
Enter already a newline: they are taken out and put back as typed (TIOCSTI),
where the kernel allows it (`can_push_back`). A genuine ctrl+j typed then
becomes Enter, which nothing else binds.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import termios
from typing import Any

_IFLAG, _LFLAG, _CC = 0, 3, 6


class StartKeys:
    """The terminal's own mode, put back by `release()` (once; atexit too)."""

    def __init__(self, fd: int, before: list[Any]) -> None:
        self.fd = fd
        self.before = before
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            termios.tcsetattr(self.fd, termios.TCSANOW, self.before)
        except (termios.error, OSError):
            pass  # the terminal is gone: nothing to put back


def held_mode(before: list[Any], wait: bool = True) -> list[Any]:
    """`before` with keys kept as typed: no line mode, no echo, CR stays CR;
    signals still work. A read waits for a key (`wait`) or returns what is there."""
    mode = [*before[:_CC], list(before[_CC])]
    mode[_IFLAG] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR)
    mode[_LFLAG] &= ~(termios.ICANON | termios.ECHO)
    mode[_CC][termios.VMIN] = 1 if wait else 0
    mode[_CC][termios.VTIME] = 0
    return mode


def hold_start_keys(fd: int = 0) -> StartKeys | None:
    """Keep what is typed on terminal `fd` as typed until the console reads it (None when `fd` is no terminal)."""
    try:
        if not os.isatty(fd):
            return None
        before = termios.tcgetattr(fd)
        early = b""
        if before[_IFLAG] & termios.ICRNL and can_push_back(fd):
            # what arrived in line mode already had Enter turned into a newline:
            # take it out (a read that waits for nothing) and type it in again
            termios.tcsetattr(fd, termios.TCSANOW, held_mode(before, wait=False))
            early = _drain(fd)
        termios.tcsetattr(fd, termios.TCSANOW, held_mode(before))
        if early:
            push_back(fd, early.replace(b"\n", b"\r"))
    except (termios.error, OSError):
        return None
    hold = StartKeys(fd, before)
    atexit.register(hold.release)
    return hold


def can_push_back(fd: int) -> bool:
    """True when keys can be put back on terminal `fd` (TIOCSTI): it is this
    process's terminal, in the foreground, and the kernel allows it (Linux 6.2
    and later turn it off with dev.tty.legacy_tiocsti = 0, except for root)."""
    try:
        if os.tcgetpgrp(fd) != os.getpgrp():
            return False
        with open("/proc/sys/dev/tty/legacy_tiocsti", encoding="ascii") as f:
            allowed = f.read().strip() != "0"
    except FileNotFoundError:
        allowed = True  # a kernel before the switch: always allowed on one's own terminal
    except OSError:
        return False
    return allowed or os.geteuid() == 0


def push_back(fd: int, data: bytes) -> None:
    """`data` into terminal `fd`'s input queue, as if typed again."""
    for i in range(len(data)):
        fcntl.ioctl(fd, termios.TIOCSTI, data[i : i + 1])


def _drain(fd: int) -> bytes:
    got = b""
    while chunk := os.read(fd, 4096):
        got += chunk
    return got
