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
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from app.config import DeskConfig
from app.identity import Actor

if TYPE_CHECKING:
    from app.business_calendar import BusinessCalendar
    from app.db import Desk

_T = TypeVar("_T")


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

    def say_read_failed(self, exc: BaseException) -> None:
        """From a worker: a read the screen needed failed (the database went
        away, a damaged file): one line as a notice; the console stays up."""
        from app.failures import one_line

        line = one_line(exc, self.ctx.desk.url)
        self.app.call_from_thread(self.app.notify, line, title="Desk", severity="error", timeout=10)


class _ContextField(Generic[_T]):
    """An App attribute that lives in its ScreenContext (setting it replaces the context)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _ContextField[_T]: ...

    @overload
    def __get__(self, obj: ContextHolder, objtype: type | None = None) -> _T: ...

    def __get__(self, obj: ContextHolder | None, objtype: type | None = None) -> _ContextField[_T] | _T:
        if obj is None:
            return self
        value: _T = getattr(obj.context, self.name)
        return value

    def __set__(self, obj: ContextHolder, value: _T) -> None:
        # the field named `self.name` has type _T: mypy cannot tie the name to it
        change: dict[str, Any] = {self.name: value}
        obj.context = replace(obj.context, **change)


class ContextHolder:
    """Mixin for an App: `context` (set it in __init__) and its fields as attributes."""

    context: ScreenContext
    desk: _ContextField[Desk] = _ContextField()
    actor: _ContextField[Actor] = _ContextField()
    config: _ContextField[DeskConfig] = _ContextField()
    now: _ContextField[Callable[[], datetime]] = _ContextField()

    @property
    def calendar(self) -> BusinessCalendar:
        """The desk's business calendar (built on first use)."""
        return self.context.calendar
