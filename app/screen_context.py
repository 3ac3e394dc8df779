"""What a screen may use from the App that shows it: one small typed value.

The console (app/console.py) and the wall (app/wall.py) each build a
`ScreenContext` from what the edge loaded (the CLI context: the desk, the
staff member, the config file), and screens read `self.ctx` (the
`UsesContext` mixin) instead of probing the App for attributes. The App's
`desk`, `actor`, `config` and `now` read and replace its context (the
`ContextHolder` mixin): the context is the one place they live. Domain code:
no Textual here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from app.config import DeskConfig
from app.identity import Actor

if TYPE_CHECKING:
    from app.business_calendar import BusinessCalendar
    from app.db import Desk


@dataclass(frozen=True, eq=False)
class ScreenContext:
    """desk, actor, config, the clock `now()` (aware UTC) and the desk's
    business calendar (built on first use: the queue's first frame does not
    need it); `wall`: shown on the wall display (no console behind it)."""

    desk: Desk
    actor: Actor
    config: DeskConfig
    now: Callable[[], datetime]
    given_calendar: BusinessCalendar | None = field(default=None, repr=False)
    wall: bool = False

    @cached_property
    def calendar(self) -> BusinessCalendar:
        if self.given_calendar is not None:
            return self.given_calendar
        from app.business_calendar import desk_calendar

        return desk_calendar(self.config)


class UsesContext:
    """Mixin for a Textual Screen: `self.ctx`, the App's ScreenContext."""

    app: Any  # the Textual App (EsimdeskApp or WallApp), set by Textual

    @property
    def ctx(self) -> ScreenContext:
        context = self.app.context
        if not isinstance(context, ScreenContext):  # an App without ContextHolder
            raise TypeError(f"{type(self.app).__name__} has no ScreenContext")
        return context


class _ContextField:
    """An App attribute that lives in its ScreenContext (setting it replaces the context)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        return self if obj is None else getattr(obj.context, self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.context = replace(obj.context, **{self.name: value})


class ContextHolder:
    """Mixin for an App: `context` (set it in __init__) and its fields as attributes."""

    context: ScreenContext
    desk = _ContextField()
    actor = _ContextField()
    config = _ContextField()
    now = _ContextField()

    @property
    def calendar(self) -> BusinessCalendar:
        """The desk's business calendar (built on first use)."""
        return self.context.calendar
