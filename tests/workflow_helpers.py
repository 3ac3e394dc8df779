"""Building staff and walking complaints through the workflow on a fresh desk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.config import DeskConfig
from app.identity import Actor
from app.workflow import (
    acknowledge,
    communicate,
    create_complaint,
    create_escalation,
    move,
    propose,
    take_review,
)
from models import Staff

CONFIG = DeskConfig()  # EE calendar, Europe/Tallinn
# Monday 2026-03-09 10:00 Tallinn
T0 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
VALID = dict(
    name="Maria Tamm",
    email="maria@example.com",
    phone="+372 5555 1234",
    description="My eSIM would not activate after following your installation guide for Japan.",
    incident_date="2026-03-06",
    region="southeast_asia",
)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def add_staff(desk, login: str, role: str = "agent") -> Actor:
    with desk.session() as s:
        st = Staff(login=login, name=login.title(), role=role, created_at=T0 - timedelta(days=100))
        s.add(st)
        s.flush()
        return Actor.of(st)


def team(desk) -> dict[str, Actor]:
    return {
        "alice": add_staff(desk, "alice", "agent"),
        "bob": add_staff(desk, "bob", "agent"),
        "sam": add_staff(desk, "sam", "senior"),
        "sara": add_staff(desk, "sara", "senior"),
        "olivia": add_staff(desk, "olivia", "supervisor"),
        "adam": add_staff(desk, "adam", "admin"),
    }


def new_complaint(desk, received_at: datetime = T0, **fields) -> str:
    values = {**VALID, **fields}
    with desk.session() as s:
        return create_complaint(s, received_at=received_at, source="email", config=CONFIG, **values).reference


def walk(desk, ref: str, actor: Actor, upto: str, start: int = 10) -> int:
    """Drive complaint `ref` from submitted to state `upto`; returns the next free minute."""
    path = ["acknowledged", "information_gathering", "investigation", "resolution_proposed", "resolution_communicated"]
    extra = {"escalated": path, "closed": path}
    steps = extra.get(upto, path[: path.index(upto) + 1] if upto in path else [])
    from app import tickets

    with desk.reader() as s:
        current = tickets.get(s, ref).status
    if current in steps:
        steps = steps[steps.index(current) + 1 :]
    m = start
    for st in steps:
        with desk.session() as s:
            if st == "acknowledged":
                acknowledge(s, actor, ref, now=at(m), config=CONFIG)
            elif st == "resolution_proposed":
                propose(s, actor, ref, "We will refund the guide fee and fix the guide.", now=at(m), config=CONFIG)
            elif st == "resolution_communicated":
                communicate(s, actor, ref, now=at(m), config=CONFIG)
            else:
                move(s, actor, ref, st, now=at(m), config=CONFIG)
        m += 10
    if upto == "escalated":
        with desk.session() as s:
            create_escalation(s, ref, received_at=at(m), reason="The refund does not cover my lost day.", config=CONFIG)
        m += 10
    if upto == "closed":
        with desk.session() as s:
            move(s, actor, ref, "closed", now=at(m), config=CONFIG, reason="accepted")
        m += 10
    return m


def take(desk, esc_ref: str, senior: Actor, minute: int):
    with desk.session() as s:
        return take_review(s, senior, esc_ref, now=at(minute), config=CONFIG)


def action_cli_sample(path: str, reference: str) -> list[str]:
    """Plausible arguments for an `esimdesk ticket <cli>` sub-command that maps
    onto a ticket action, read from the action table (app/workflow/actions.py):
    the reference, then each required argument (its first choice, else "x").
    A new action's sub-command needs no entry in the tests' sample lists."""
    from app.workflow.actions import cli_actions

    action = next((a for a in cli_actions() if f"ticket {a.cli}" == path), None)
    out = [reference]
    for arg in action.cli_args if action is not None else ():
        if arg.required:
            value = arg.choices[0] if arg.choices else "x"
            out += [arg.name, value] if arg.name.startswith("-") else [value]
    return out
