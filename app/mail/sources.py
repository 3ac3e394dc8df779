"""Where messages come from: .eml files, Maildir folders (new/ and cur/), mbox files.

`check_paths` refuses (InputError, one line) a PATH that cannot be read at all;
`iter_messages` then yields one RawMessage per message, with a `source` label
that names the file (and the message's index inside an mbox).
"""

from __future__ import annotations

import mailbox
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.errors import InputError

_MBOX_UNESCAPE = re.compile(rb"(?m)^>(>*From )")


@dataclass
class RawMessage:
    source: str
    raw: bytes
    mtime: datetime | None  # of the file, a fallback receipt time
    path: Path | None = None  # the file holding only this message (.eml, Maildir)


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "new").is_dir() and (path / "cur").is_dir()


def kind_of(path: Path) -> str:
    """'maildir', 'mbox' or 'eml'; InputError if `path` cannot be read at all."""
    if not path.exists():
        raise InputError(f"cannot read {path}: no such file or folder")
    if path.is_dir():
        if is_maildir(path):
            if not os.access(path / "new", os.R_OK | os.X_OK) or not os.access(path / "cur", os.R_OK | os.X_OK):
                raise InputError(f"cannot read Maildir {path}: permission denied")
            return "maildir"
        raise InputError(f"cannot read {path}: a folder but not a Maildir (needs new/ and cur/)")
    try:
        with path.open("rb") as fh:
            head = fh.read(5)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return "mbox" if head == b"From " else "eml"


def check_paths(paths: list[Path]) -> list[tuple[Path, str]]:
    return [(p, kind_of(p)) for p in paths]


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def maildir_files(path: Path, subdirs: tuple[str, ...] = ("new", "cur")) -> list[Path]:
    """Message files of a Maildir, oldest name first (names start with the time)."""
    files: list[Path] = []
    for sub in subdirs:
        try:
            with os.scandir(path / sub) as it:
                names = sorted(e.name for e in it if not e.name.startswith(".") and e.is_file())
        except OSError:
            continue
        files.extend(path / sub / n for n in names)
    return files


def _read_file(path: Path, source: str) -> RawMessage | None:
    try:
        return RawMessage(source=source, raw=path.read_bytes(), mtime=_mtime(path), path=path)
    except FileNotFoundError:  # moved away by a mail client meanwhile
        return None


def iter_mbox(path: Path) -> Iterator[RawMessage]:
    """Messages of an mbox; `>From ` lines in bodies are unescaped one level
    (mboxrd rule, which also undoes mboxo's escaping)."""
    mtime = _mtime(path)
    box = mailbox.mbox(str(path), create=False)
    try:
        for index, key in enumerate(box.iterkeys()):
            raw = box.get_bytes(key)
            sep = raw.find(b"\n\n")
            if sep >= 0 and b"\n>" in raw[sep:]:
                raw = raw[:sep] + _MBOX_UNESCAPE.sub(rb"\1", raw[sep:])
            yield RawMessage(source=f"{path}#{index + 1}", raw=raw, mtime=mtime)
    finally:
        box.close()


def iter_messages(path: Path, kind: str) -> Iterator[RawMessage]:
    if kind == "eml":
        msg = _read_file(path, str(path))
        if msg is not None:
            yield msg
    elif kind == "maildir":
        for file in maildir_files(path):
            msg = _read_file(file, str(file))
            if msg is not None:
                yield msg
    elif kind == "mbox":
        yield from iter_mbox(path)
    else:  # pragma: no cover
        raise InputError(f"unknown source kind {kind!r}")
