"""Attachments on a ticket, listed without their bytes (a screen never loads
them; a 50 MB screenshot stays in the database until someone saves it)."""
from __future__ import annotations

import os

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from app.errors import InputError, NotFound
from models import Attachment, Message


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    message_id: int
    filename: str  # as received: pass through app.untrusted.inert before display
    content_type: str
    size: int
    stored: bool  # False: larger than the storage cap, only name/type/size kept


def list_attachments(session: Session, ticket_id: int) -> list[AttachmentInfo]:
    rows = session.execute(
        select(Attachment.id, Attachment.message_id, Attachment.filename, Attachment.content_type, Attachment.size,
               Attachment.data.is_not(None))
        .join(Message, Message.id == Attachment.message_id)
        .where(Message.ticket_id == ticket_id)
        .order_by(Attachment.id)
    ).all()
    return [AttachmentInfo(*r) for r in rows]


def save_attachment(session: Session, attachment_id: int, folder: Path, force: bool = False) -> Path:
    """Write the attachment's bytes into `folder` under a safe name; its path.

    Never through a symlink planted at that name (O_NOFOLLOW), never over an
    existing file unless `force` (then the old file is replaced, not written
    through); the file is created 0600 (it is customer evidence)."""
    row = session.execute(select(Attachment.filename, Attachment.data).where(Attachment.id == attachment_id)).first()
    if row is None:
        raise NotFound(f"no attachment {attachment_id}")
    name, data = row
    if data is None:
        raise InputError(f"attachment {attachment_id} was too large to store; only its name, type and size were kept")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name.replace("\\", "/")).name).lstrip(".") or "attachment"
    target = Path(folder) / f"{attachment_id}-{safe[:120]}"
    write_new_file(target, data, force=force)
    return target


def write_new_file(target: Path, data: bytes, force: bool = False) -> None:
    """Create `target` with `data` (O_EXCL|O_NOFOLLOW, 0600); with `force` an
    existing file or link at that name is replaced (the link, not its target)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    if force and (target.is_symlink() or target.exists()):
        if target.is_dir() and not target.is_symlink():
            raise InputError(f"{target} is a folder")
        target.unlink()
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise InputError(f"{target} already exists; pass --force to replace it") from None
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
