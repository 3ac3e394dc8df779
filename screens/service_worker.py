"""Running one service from a screen, the one way every screen does it.

`ServiceRunner.run_service_call(call, then, group=...)` runs `call(session,
now)` in a thread worker of the screen, in its own transaction (or, with
`preview=True`, in a rolled-back one whose result is the mail it would queue:
app.workflow.preview), with the screen `busy` meanwhile. `then(outcome)` runs
on the event loop with an `Outcome`: the result, or the refusal recognised by
its type (never its text): a `StaleTicket` means a colleague changed the
ticket, so the screen shows what is stored now; any other `DeskError` is
shown in place (the open prompt, the status line) and nothing is reloaded.

Name the group in the screen's `KEY_BLOCKING_WORKERS` and keys typed while
the service runs wait for its outcome (app.console_keys): the worker ends only
after its outcome is posted, and a posted outcome not yet handled keeps keys
waiting too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from textual.message import Message

from app.errors import DeskError, StaleTicket
from app.failures import as_desk_error
from app.labels import in_words
from app.screen_context import UsesContext

ServiceCall = Callable[[Any, datetime], Any]  # (session, now) -> result


@dataclass(frozen=True)
class Outcome:
    """What a service call came to."""

    result: Any = None
    error: DeskError | None = None
    fresh: Any = None  # what `read()` found once it was saved or found stale (run_service_call's `read`)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def stale(self) -> bool:
        """A colleague changed the ticket since it was read."""
        return isinstance(self.error, StaleTicket)

    @property
    def reload(self) -> bool:
        """Show what is stored now: saved, or changed by someone else."""
        return self.error is None or self.stale

    @property
    def severity(self) -> str:
        return "information" if self.error is None else "warning" if self.stale else "error"

    @property
    def text(self) -> str:
        """The refusal in a person's words ("" when it went through)."""
        return in_words(str(self.error)) if self.error is not None else ""


class ServiceDone(Message):
    """A service call's outcome, back on the screen that ran it."""

    def __init__(self, then: Callable[[Outcome], None], outcome: Outcome) -> None:
        super().__init__()
        self.then, self.outcome = then, outcome


class ServiceRunner(UsesContext):
    """Mixed into a Screen: the desk, actor and clock come from its context."""

    busy: bool = False

    def run_service_call(
        self,
        call: ServiceCall,
        then: Callable[[Outcome], None],
        *,
        group: str,
        preview: bool = False,
        read: Callable[[], Any] | None = None,
    ) -> None:
        """Run `call` off the event loop (see the module docstring); one at a
        time per `group` (a newer call cancels a waiting one). `read()`, when
        given, reads what is stored now in the same worker once the call was
        saved (not previewed) or found stale (`outcome.fresh`), so nothing reads on the loop."""
        self.busy = True
        self.run_worker(
            partial(self._service_work, call, then, preview, read),
            thread=True,  # type: ignore[attr-defined]
            exclusive=True,
            group=group,
            name=group,
        )

    def _service_work(
        self, call: ServiceCall, then: Callable[[Outcome], None], preview: bool, read: Callable[[], Any] | None
    ) -> None:
        ctx = self.ctx
        try:
            now = ctx.now()
            if preview:
                from app.workflow.preview import mail_preview

                result = mail_preview(ctx.desk, ctx.actor.login, call, now)
            else:
                with ctx.desk.session() as s:
                    result = call(s, now)
        except Exception as exc:  # noqa: BLE001 - a refusal or a failed database: said in place, the text kept
            outcome = Outcome(error=as_desk_error(exc, ctx.desk.url))
        else:
            outcome = Outcome(result)
        if read is not None and (outcome.stale or (outcome.ok and not preview)):
            outcome = Outcome(outcome.result, outcome.error, read())
        self.post_message(ServiceDone(then, outcome))  # type: ignore[attr-defined]

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        self.busy = False
        message.then(message.outcome)
