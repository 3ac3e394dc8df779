"""Text the CLI writes: JSON whose strings are safe for a terminal (no C1
controls, escape sequences or bidi overrides from customer text)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from app.untrusted import terminal_safe_data


def emit_json(obj: object, out: TextIO | None = None) -> None:
    """One JSON line on `out` (stdout), every string terminal-safe."""
    (out or sys.stdout).write(json.dumps(terminal_safe_data(obj), ensure_ascii=False) + "\n")
