"""`esimdesk orders import PATH...`: CSV (header row) and JSONL files of
orders, validated row by row, upserted by order number (the shared orders contract).

Valid rows go to the database in batches of `BATCH` (one transaction each
when given an Engine); a rejected row changes nothing and names every bad
field with its file and line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from app.errors import InputError
from app.orders.fields import FieldError, OrderRow, validate_row
from app.orders.store import upsert

BATCH = 5000
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass
class ImportSummary:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    linked: list[tuple[str, str]] = field(default_factory=list)  # (ticket, order number): not in the printed summary

    def as_dict(self) -> dict[str, Any]:
        """The contract's summary object, exactly."""
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": self.errors,
        }


def _format(path: str) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unknown file type (use .csv with a header row, or .jsonl)")
    return fmt


def check_readable(paths: Iterable[str]) -> None:
    """Every PATH exists, is a readable UTF-8 file of a known type (else InputError, one line)."""
    for path in paths:
        _format(path)
        p = Path(path)
        if not p.exists():
            raise InputError(f"{path}: no such file")
        if p.is_dir():
            raise InputError(f"{path}: is a directory")
        try:
            with p.open("rb") as fh:
                fh.read(65536).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if exc.start < 65530:  # not just a character cut at the block's end
                raise InputError(f"{path}: not UTF-8 text") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _csv_rows(path: str) -> Iterator[tuple[int, Any]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        names = [h.strip() for h in header]
        last = reader.line_num
        for cells in reader:
            line, last = last + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(names):
                yield line, FieldError(None, f"{len(cells)} cells, the header has {len(names)}")
                continue
            yield line, dict(zip(names, cells, strict=False))


def _jsonl_rows(path: str) -> Iterator[tuple[int, Any]]:
    with open(path, encoding="utf-8-sig") as fh:
        for line, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                yield line, json.loads(text)
            except json.JSONDecodeError as exc:
                yield line, FieldError(None, f"not valid JSON ({exc.msg} at column {exc.colno})")


def read_rows(path: str) -> Iterator[tuple[int, Any]]:
    """(line, raw row or a FieldError for a row that is not a row at all)."""
    return _csv_rows(path) if _format(path) == "csv" else _jsonl_rows(path)


def reject(summary: ImportSummary, path: str, line: int, errors: list[FieldError]) -> None:
    summary.rejected += 1
    summary.errors += [{"path": path, "line": line, "field": e.field, "reason": e.reason} for e in errors]


def import_orders(
    target: Engine | Connection, paths: list[str], *, now: datetime, source: str = "import"
) -> ImportSummary:
    """Import the files in order. `target`: an Engine (a transaction per
    batch) or a Connection (the caller's transaction)."""
    check_readable(paths)
    summary = ImportSummary()
    batch: list[tuple[OrderRow, str]] = []
    numbers: set[str] = set()

    def flush() -> None:
        if not batch:
            return
        if isinstance(target, Connection):
            done = upsert(target, batch, source=source, now=now)
        else:
            with target.begin() as conn:
                done = upsert(conn, batch, source=source, now=now)
        summary.created += done.created
        summary.updated += done.updated
        summary.unchanged += done.unchanged
        summary.linked += done.linked
        batch.clear()
        numbers.clear()

    for path in paths:
        for line, raw in read_rows(path):
            summary.read += 1
            if isinstance(raw, FieldError):
                reject(summary, path, line, [raw])
                continue
            row, errors = validate_row(raw)
            if row is None:
                reject(summary, path, line, errors)
                continue
            if row.number in numbers:  # the same order again: the earlier row is stored first
                flush()
            batch.append((row, f"{path}:{line}"))
            numbers.add(row.number)
            if len(batch) >= BATCH:
                flush()
    flush()
    return summary
