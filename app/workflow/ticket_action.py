"""What a ticket action is (app/workflow/actions.py holds the table of them):
its words, keys, the prompt that asks for its value, its CLI arguments, who
may use it and when it is offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from app.identity import PERMISSIONS, Actor
from models import Ticket


class Prompt(StrEnum):
    """What the console asks before the service runs (the value it passes)."""

    NONE = "none"  # nothing: the service takes no value
    TEXT = "text"  # a text (kept as a draft while typed)
    REPLY = "reply"  # a text to the customer, with the ticket's reply templates
    CHOICE = "choice"  # one of `options(view)`: the value is the option's id
    EXTEND = "extend"  # a new due date and a reason: the value is (date, reason)
    SCREEN = "screen"  # no service: the App's `open_<id>(reference)` opens a screen


@dataclass(frozen=True)
class CliArg:
    """One argument of the action's `esimdesk ticket` sub-command: a
    positional (`text`) or an option (`--reason`). Positionals and options not
    `keyword` make the service's value (one: itself; more: a tuple, in order);
    a `keyword` one is passed by name."""

    name: str
    help: str | None = None
    metavar: str | None = None
    required: bool = True
    choices: tuple[str, ...] | None = None
    keyword: bool = False
    version: bool = False  # a ticket version (a bounded whole number, as `--version`)

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")


Fields = dict[str, str]  # ref, who, value, choice, status: the words a template may use


@dataclass(frozen=True)
class TicketAction:
    """One thing a person can do to a ticket (see the module docstring).

    Words (`label`, `title`, `placeholder`, `mail`, `confirm`, `done`,
    `none_left`) are plain, for a person; templates use {ref} (the ticket),
    {who} (the customer, inert), {value} (what was chosen or typed), {choice}
    (the chosen option's words) and {status} (the ticket's state in words)."""

    id: str  # binding id, `[keys]` id, the name in next_actions
    label: str  # footer, palette, help, "Next steps"
    key: str  # default key (remapped by `[keys]`)
    when: Callable[[Ticket, Actor, Session | None], bool]  # offered now (state, and the person's part in the ticket)
    service: Callable[..., Any] | None = (
        None  # fn(session, actor, reference[, value], *, expected_version, now, config)
    )
    who: str | None = None  # the permission it needs (app.identity.PERMISSIONS); None: decided by `when`
    prompt: Prompt = Prompt.NONE
    title: str = ""  # the prompt's title, after "{ref}: "
    placeholder: str = ""  # the text prompt's label
    initial: str | None = None  # the ticket view's attribute a text prompt starts from
    options: Callable[[Any], list[tuple[str, str]]] | None = None  # CHOICE: (id, words) from the ticket view
    none_left: str = ""  # CHOICE with no option: what the person is told
    none_left_severity: str = "warning"
    mail: str | None = None  # it may mail the customer: what, for the preview's headline
    confirm: str | Callable[[Fields], str] | None = None  # asked first even with no mail (closing, final words)
    done: str = ""  # the notice once saved
    cli: str | None = None  # `esimdesk ticket <cli>`
    cli_help: str = ""
    cli_args: tuple[CliArg, ...] = ()
    step: bool = True  # a workflow step (next_actions); False: the ticket view offers it when it applies

    def offered(self, ticket: Ticket, actor: Actor, session: Session | None = None) -> bool:
        if self.who is not None and not actor.can(self.who):
            return False
        return self.when(ticket, actor, session)

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles that may use it (any role when `who` is None: `when` decides)."""
        return tuple(role for role, perms in PERMISSIONS.items() if self.who is None or self.who in perms)

    @property
    def dangerous(self) -> bool:
        """One key is not enough: a confirmation names what happens and to whom."""
        return self.confirm is not None

    def takes_value(self) -> bool:
        return self.prompt not in (Prompt.NONE, Prompt.SCREEN)

    def headline(self, fields: Fields) -> str:
        """The preview's or confirmation's first line."""
        if self.confirm is not None:
            return self.confirm(fields) if callable(self.confirm) else self.confirm.format(**fields)
        return f"{fields['ref']}: {self.mail} — this mail goes to {fields['who']}."
