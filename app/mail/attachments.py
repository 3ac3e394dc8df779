"""Attachments on a ticket, listed without their bytes (a screen never loads
them; a 50 MB screenshot stays in the database until someone saves it)."""
from __future__ import annotations

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


def save_attachment(session: Session, attachment_id: int, folder: Path) -> Path:
    """Write the attachment's bytes into `folder` under a safe name; its path."""
    row = session.execute(select(Attachment.filename, Attachment.data).where(Attachment.id == attachment_id)).first()
    if row is None:
        raise NotFound(f"no attachment {attachment_id}")
    name, data = row
    if data is None:
        raise InputError(f"attachment {attachment_id} was too large to store; only its name, type and size were kept")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name.replace("\\", "/")).name).lstrip(".") or "attachment"
    target = Path(folder) / f"{attachment_id}-{safe[:120]}"
    target.write_bytes(data)
    return target
