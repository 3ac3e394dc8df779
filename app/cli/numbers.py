"""Bounded numeric arguments: argparse types that refuse a value outside a
sane range in one line (exit 2) before any work starts."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

INT32_MAX = 2**31 - 1  # PostgreSQL `integer`


def int_in(lo: int, hi: int, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        if len(text) > 20:
            raise argparse.ArgumentTypeError(f"{text[:20]!r}... is not {what} between {lo} and {hi}")
        value = int(text.strip())  # ValueError: argparse says "invalid int value"
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({lo} to {hi})")
        return value

    parse.__name__ = "int"
    return parse


def seconds_in(lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds in [lo, hi]."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip()) if len(text) <= 40 else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds")
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value:g} is out of range ({lo:g} to {hi:g} seconds)")
        return value

    parse.__name__ = "seconds"
    return parse


VERSION = int_in(0, INT32_MAX, "a version number")
ROW_ID = int_in(1, INT32_MAX, "an id")
LIMIT = int_in(1, 1_000_000, "a count")
