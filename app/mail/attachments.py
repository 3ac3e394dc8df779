"""Attachments on a ticket, listed without their bytes (a screen never loads
them; a 50 MB screenshot stays in the database until someone saves it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session, col

from app.errors import InputError, NotFound
from app.mail.parse import ParsedMessage
from app.prepared import Prepared
from models import Attachment, Message, table_of


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
        select(
            col(Attachment.id),
            col(Attachment.message_id),
            col(Attachment.filename),
            col(Attachment.content_type),
            col(Attachment.size),
            col(Attachment.data).is_not(None),
        )
        .join(Message, col(Message.id) == col(Attachment.message_id))
        .where(col(Message.ticket_id) == ticket_id)
        .order_by(col(Attachment.id))
    ).all()
    return [AttachmentInfo(*r) for r in rows]


def save_attachment(session: Session, attachment_id: int, folder: Path, force: bool = False) -> Path:
    """Write the attachment's bytes into `folder` under a safe name; its path.

    Never through a symlink planted at that name (O_NOFOLLOW), never over an
    existing file unless `force` (then the old file is replaced, not written
    through); the file is created 0600 (it is customer evidence)."""
    row = session.execute(
        select(col(Attachment.filename), col(Attachment.data)).where(col(Attachment.id) == attachment_id)
    ).first()
    if row is None:
        raise NotFound(f"no attachment {attachment_id}")
    name, data = row
    if data is None:
        raise InputError(f"attachment {attachment_id} was too large to store; only its name, type and size were kept")
    safe = (
        "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name.replace("\\", "/")).name).lstrip(".")
        or "attachment"
    )
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


# -- files an agent sends --------------------------------------------------------------
MAX_FILES = 10


@dataclass(frozen=True)
class OutgoingFile:
    filename: str
    content_type: str
    data: bytes


def read_outgoing(paths: list[str | Path], limit: int) -> list[OutgoingFile]:
    """Files to attach to a reply, read whole; InputError (one line) for a
    file that cannot be read, or more than MAX_FILES files or `limit` bytes together."""
    import mimetypes

    if len(paths) > MAX_FILES:
        raise InputError(f"at most {MAX_FILES} files can be attached to one reply, got {len(paths)}")
    out: list[OutgoingFile] = []
    total = 0
    for p in paths:
        path = Path(p).expanduser()
        try:
            if not path.is_file():
                raise InputError(f"cannot attach {path}: not a file")
            size = path.stat().st_size
            if total + size > limit:
                raise InputError(
                    f"cannot attach {path}: the files come to more than {limit} bytes ([mail] max_attachment_bytes)"
                )
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot attach {path}: {exc.strerror or exc}") from None
        total += len(data)
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        out.append(OutgoingFile(path.name[:500], ctype, data))
    return out


def check_outgoing(files: list[OutgoingFile], limit: int) -> None:
    """The same limits for files handed to a service directly."""
    if len(files) > MAX_FILES:
        raise InputError(f"at most {MAX_FILES} files can be attached to one reply, got {len(files)}")
    total = sum(len(f.data) for f in files)
    if total > limit:
        raise InputError(f"the attached files come to {total} bytes, more than {limit} ([mail] max_attachment_bytes)")
    if any(not f.filename.strip() for f in files):
        raise InputError("an attached file needs a name")


def outgoing_of(session: Session, message_id: int) -> list[OutgoingFile]:
    """The stored files of an outbound message, for sending."""
    rows = session.execute(
        select(col(Attachment.filename), col(Attachment.content_type), col(Attachment.data))
        .where(col(Attachment.message_id) == message_id, col(Attachment.data).is_not(None))
        .order_by(col(Attachment.id))
    ).all()
    return [OutgoingFile(n, c, d) for n, c, d in rows]


_INSERT_ATTACHMENT = Prepared.insert(table_of(Attachment))


def store_inbound(session: Session, ticket_id: int, message_id: int, parsed: ParsedMessage, now: datetime) -> None:
    """Store the attachments of inbound message `message_id` (a file past the
    storage cap keeps its name, type and size: event "attachment_not_stored")."""
    if not parsed.attachments:
        return
    conn = session.connection()
    big = []
    for a in parsed.attachments:
        _INSERT_ATTACHMENT.run(
            conn,
            {
                "message_id": message_id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "data": a.data,
            },
        )
        if a.data is None:
            big.append(a.size)
    if big:
        from app import history

        history.record(
            session,
            ticket_id,
            None,
            "attachment_not_stored",
            now,
            sizes=big,
            note="larger than the storage cap; name, type and size recorded",
        )
