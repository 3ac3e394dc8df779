"""Customer text made inert for display: the one place every screen uses.

Stored text stays exactly as received; what reaches a widget has no terminal
control characters (C0 except newline/tab, DEL, C1), no bidirectional
overrides or isolates, and is only ever handed to widgets as plain text (never
parsed as Rich/Textual markup — see `as_text` in the widgets).
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except \t and \n, DEL, C1 controls, and Unicode bidi controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Whole escape sequences first, so their parameters do not survive as text.
_ESCAPE_SEQ = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL/ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS/SOS/PM/APC ... ST
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
)


def inert(text: str | None, limit: int | None = None, single_line: bool = False) -> str:
    """`text` with every control and escape sequence removed.

    single_line: newlines and tabs become spaces (for table cells, headers).
    limit: cut to this many characters, ending with an ellipsis.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _ESCAPE_SEQ.sub("", text)
    text = _CONTROL.sub("", text)
    if single_line:
        text = " ".join(text.split())
    else:
        text = text.replace("\t", "    ")
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def terminal_safe(text: str) -> str:
    """`text` with escape sequences and control characters (C0 except tab and
    newline, DEL, C1, bidi overrides and isolates) removed, nothing else
    changed: for text outputs (JSON lines, CSV) that reach a terminal."""
    if not text:
        return text
    return _CONTROL.sub("", _ESCAPE_SEQ.sub("", text))


def terminal_safe_data(value: object) -> object:
    """`value` (JSON-like data) with every string made `terminal_safe`."""
    if isinstance(value, str):
        return terminal_safe(value)
    if isinstance(value, dict):
        return {terminal_safe_data(k): terminal_safe_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [terminal_safe_data(v) for v in value]
    return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP: a text
    starting with = + - @ tab or CR gets a leading apostrophe)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
