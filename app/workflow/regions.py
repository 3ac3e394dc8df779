"""Regional eSIM guidance: the complaints policy's seven regions
(app/data/regions.json), shown to the agent beside the ticket."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.errors import InputError
from models.enums import Region

DATA = Path(__file__).resolve().parent.parent / "data" / "regions.json"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def parse(value: str | Region | None) -> Region | None:
    """A region from its id ('europe') or label ('Australia & New Zealand');
    None/empty stays None; anything else is an InputError naming the choices."""
    if value is None or not str(value).strip():
        return None
    raw = str(value).strip().lower()
    key = "_".join(raw.replace("&", " ").replace("-", " ").split())
    aliases = {"australia_new_zealand": "australia_nz", "australia_and_new_zealand": "australia_nz"}
    key = aliases.get(key, key)
    if key in {r.value for r in Region}:
        return Region(key)
    for rid, entry in _data()["regions"].items():
        if entry["label"].lower() == raw or entry["label"].lower().split(" (")[0] == raw:
            return Region(rid)
    raise InputError(f"unknown region {value!r} (one of: {', '.join(r.value for r in Region)})")


def label(region: str | Region) -> str:
    return str(_data()["regions"][Region(region).value]["label"])


def guidance(region: str | Region | None) -> str:
    """The policy's guidance text for the region ('' when none is recorded)."""
    r = parse(region)
    if r is None:
        return ""
    entry = _data()["regions"][r.value]
    return f"{entry['label']}: {entry['guidance']} {_data()['advice']}"
