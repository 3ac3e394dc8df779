"""Who is acting, and what their role lets them do.

The staff member is the OS account of the process's real user id (never an
environment variable a user can set). `--as LOGIN` is honoured only on a
database created by `esimdesk demo`. Role checks live here and are called by
the services, so the CLI and the console enforce exactly the same rules.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

from sqlmodel import Session, select

from app.errors import AccessDenied, NotFound
from models import DeskSetting, Staff
from models.enums import Role

# What each role may do. Supervisors see everything an agent sees.
PERMISSIONS: dict[str, frozenset[str]] = {
    Role.AGENT: frozenset({"work_tickets", "refund_decide", "triage", "quarantine"}),
    Role.SENIOR: frozenset({"review_escalations", "work_tickets"}),
    Role.SUPERVISOR: frozenset(
        {
            "work_tickets",
            "refund_decide",
            "triage",
            "quarantine",
            "dashboard",
            "reassign",
            "extend",
            "review_queue_view",
        }
    ),
    Role.ADMIN: frozenset({"manage_staff", "configure", "backup", "retention", "dashboard", "quarantine"}),
}


@dataclass(frozen=True)
class Actor:
    """The staff member behind a request (a detached, immutable snapshot)."""

    id: int
    login: str
    name: str
    role: str

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str, doing: str | None = None) -> None:
        if not self.can(permission):
            raise AccessDenied(f"{self.login} ({self.role}) may not {doing or permission.replace('_', ' ')}")

    @classmethod
    def of(cls, staff: Staff) -> Actor:
        return cls(id=staff.id or 0, login=staff.login, name=staff.name, role=staff.role)


def os_login() -> str:
    """The login name of the process's real user id."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"


def is_demo_desk(session: Session) -> bool:
    row = session.get(DeskSetting, "demo")
    return bool(row and row.value == "true")


def resolve_actor(session: Session, as_login: str | None = None) -> Actor:
    """The acting staff member; refuses an unknown or inactive account."""
    login = os_login()
    if as_login and as_login != login:
        if not is_demo_desk(session):
            raise AccessDenied("--as is allowed only on a demo desk (created by `esimdesk demo`)")
        login = as_login
    staff = session.exec(select(Staff).where(Staff.login == login)).first()
    if staff is None:
        raise AccessDenied(
            f"OS account {login!r} is not registered as staff of this desk; ask an admin to run: esimdesk staff add --login {login} --role agent"
        )
    if not staff.active:
        raise AccessDenied(f"staff account {login!r} is deactivated")
    return Actor.of(staff)


def staff_by_login(session: Session, login: str) -> Staff:
    staff = session.exec(select(Staff).where(Staff.login == login)).first()
    if staff is None:
        raise NotFound(f"no staff member with login {login!r}")
    return staff
