"""Registering and listing staff members (admins only, except on an empty desk)."""

from __future__ import annotations

import os
import re
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.errors import AccessDenied, InputError
from app.identity import Actor, os_login, resolve_actor
from models import Staff
from models.enums import Role

LOGIN_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")


def add_staff(
    session: Session,
    login: str,
    role: str,
    name: str | None,
    now: datetime,
    email: str | None = None,
    as_login: str | None = None,
) -> Staff:
    """Register a staff member. Only an admin may, except for the very first
    staff member of an empty desk (bootstrap) and the host's root account."""
    problems = []
    if not LOGIN_RE.match(login or ""):
        problems.append(f"login {login!r} is not a valid account name (lowercase letters, digits, _ . -)")
    if role not in {r.value for r in Role}:
        problems.append(f"unknown role {role!r} (agent, senior, supervisor, admin)")
    if problems:
        raise InputError("; ".join(problems))
    count = session.scalar(select(func.count()).select_from(Staff)) or 0
    if count and os.getuid() != 0:
        actor: Actor = resolve_actor(session, as_login)
        if actor.role != Role.ADMIN:
            raise AccessDenied(f"{actor.login} ({actor.role}) may not add staff: admins only")
    if session.scalars(select(Staff).where(col(Staff.login) == login)).first():
        raise InputError(f"staff member {login!r} already exists")
    staff = Staff(login=login, name=name or login, role=role, email=email, created_at=now)
    session.add(staff)
    session.flush()
    return staff


def list_staff(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).order_by(Staff.role, Staff.login)))


def assignable(session: Session) -> list[tuple[str, str]]:
    """(login, "login — Name (role) · N open") of the active agents and
    seniors, who may be given tickets (the console's "assign to…" choices):
    how many open tickets each holds now (the wall's tally), so a supervisor
    sees who has room."""
    from app import wall_tally

    rows = session.scalars(
        select(Staff)
        .where(col(Staff.active).is_(True), col(Staff.role).in_((Role.AGENT, Role.SENIOR)))
        .order_by(col(Staff.login))
    )
    open_at = list(wall_tally.COUNTS).index("open")
    held = {a: counts[open_at] for a, counts in wall_tally.stored(session).items()}
    return [(s.login, f"{s.login} — {s.name} ({s.role}) · {held.get(s.id or 0, 0):,} open") for s in rows]


__all__ = ["add_staff", "assignable", "list_staff", "os_login"]
