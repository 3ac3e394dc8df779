"""The `[keys]` section checked against the binding ids the screens really
have, before a screen opens (an unknown id is a typo the person must hear
about, not a key that silently does nothing)."""

from __future__ import annotations

import importlib
import pkgutil

from app.errors import ConfigError

UI_PACKAGES = ("screens", "widgets")
UI_MODULES = ("app.console", "app.wall")


def binding_ids() -> set[str]:
    """Every binding id declared by the console's and the wall's classes."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    for name in UI_MODULES:
        importlib.import_module(name)
    for package in UI_PACKAGES:
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{package}.{info.name}")
    ids: set[str] = set()
    stack = [DOMNode]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        for b in cls.__dict__.get("BINDINGS", ()):
            if isinstance(b, Binding) and b.id:
                ids.add(b.id)
    return ids


def check_keys(keys: dict[str, str]) -> None:
    """ConfigError naming the first `[keys]` id no screen has."""
    if not keys:
        return
    known = binding_ids()
    unknown = sorted(set(keys) - known)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"config: [keys] has unknown binding id {unknown[0]!r}{hint}")
