"""Attaching a file to a request or to one of its messages.

Who may: whoever may see the request (:func:`hotline.tickets.queries.get_visible_ticket_by_id`), an enterprise
only while its request is open, staff at any time.  An attachment of an internal event is internal.  The file
is checked by its content (:mod:`hotline.attachments.sniffing`), written under a random name, then its row
flushed; a rollback deletes what was written (:mod:`hotline.attachments.storage`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Protocol

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from hotline.attachments import sniffing, storage
from hotline.attachments.models import NAME_MAX, Attachment
from hotline.auth.models import Role, User
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.tickets.models import Ticket, TicketEvent
from hotline.tickets.queries import get_visible_ticket_by_id

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
PER_TICKET_MAX = 100  # files on one request: its page and its JSON list them all
PER_UPLOAD_MAX = 10  # files sent at once from the page


class Upload(Protocol):
    """What is uploaded: a werkzeug ``FileStorage`` (its name as the browser sent it, and its stream)."""

    filename: str | None
    stream: IO[bytes]


class AttachmentTooLarge(ValidationFailed):
    """The file is over ``ATTACHMENT_MAX_BYTES`` (the API answers 413)."""

    code = "too_large"
    status = 413


class AttachmentTypeRefused(ValidationFailed):
    """The file's content is not of an allowed type (the API answers 415)."""

    code = "unsupported_media_type"
    status = 415


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}" if size >= 1024 * 1024 else f"{size / (1024 * 1024):.2f}"


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def display_name(filename: str | None) -> str:
    """The uploader's file name as it is kept for display: its last path part, without control or bidi
    characters, at most :data:`NAME_MAX` characters ("file" when nothing is left).  It stays text: every page
    escapes it, and the download names it only in a quoted header (werkzeug's ``send_file``)."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _UNSAFE_NAME.sub("", name).strip()
    if len(name) > NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        name = (
            (stem[: NAME_MAX - len(extension) - 1] + dot + extension) if dot and len(extension) < 16 else ""
        )
        name = name or (filename or "")[:NAME_MAX]
        name = _UNSAFE_NAME.sub("", name)[:NAME_MAX]
    return name or "file"


def _refusal(reason: str) -> str:
    if reason == sniffing.EMPTY:
        return _("The file is empty.")
    if reason == sniffing.MARKUP:
        return _("Web pages, SVG and other markup files are not accepted: send a PDF or a picture instead.")
    if reason == sniffing.MACROS:
        return _("Office documents with macros are not accepted.")
    return _(
        "This type of file is not accepted: send a PDF, a JPEG or PNG picture, an Office document "
        "or plain text."
    )


def _may_add(ticket: Ticket, actor: User) -> None:
    if actor.role == Role.ENTERPRISE and not ticket.is_open:
        message = _("Files can be added only while the request is open.")
        raise ValidationFailed(message, {"file": message})


def _event_of(ticket: Ticket, actor: User, event_id: int | None) -> TicketEvent | None:
    if event_id is None:
        return None
    event = db.session.get(TicketEvent, event_id) if 0 < event_id < 2**63 else None
    hidden = (
        event is not None
        and actor.role == Role.ENTERPRISE
        and (not event.public or event.actor_id != actor.id)
    )
    if event is None or event.ticket_id != ticket.id or hidden:
        message = _("No such message on this request.")
        raise ValidationFailed(message, {"event": message})
    return event


def _read(upload: Upload, label: str) -> bytes:
    limit = max_bytes()
    content = upload.stream.read(limit + 1)
    if len(content) > limit:
        message = _("%(name)s is larger than %(mb)s MB.", name=label, mb=_megabytes(limit))
        raise AttachmentTooLarge(message, {"file": message})
    return content


def _kept(
    ticket: Ticket, actor: User, upload: Upload, event: TicketEvent | None, now: datetime
) -> Attachment:
    name = display_name(upload.filename)
    content = _read(upload, name)
    try:
        content_type = sniffing.sniff(content)
        thumbnail = storage.thumbnail(content) if content_type in sniffing.IMAGES else None
    except sniffing.Refused as refused:
        message = f"{name}: {_refusal(refused.reason)}"
        raise AttachmentTypeRefused(message, {"file": message}) from None
    except storage.BadImage:
        message = f"{name}: {_('The picture is damaged or too large to open.')}"
        raise AttachmentTypeRefused(message, {"file": message}) from None
    stored = storage.new_name()
    storage.write(db.session(), stored, content)
    thumbnail_name = None
    if thumbnail is not None:
        thumbnail_name = f"{stored}.thumb.jpg"
        storage.write(db.session(), thumbnail_name, thumbnail)
    attachment = Attachment(
        ticket_id=ticket.id,
        event_id=event.id if event is not None else None,
        uploaded_by_id=actor.id,
        original_name=name,
        stored_name=stored,
        thumbnail_name=thumbnail_name,
        size=len(content),
        content_type=content_type,
        internal=event is not None and not event.public,
        created_at=now,
    )
    db.session.add(attachment)
    return attachment


def attach_many(
    ticket_id: int, actor: User, uploads: Sequence[Upload], event_id: int | None, now: datetime
) -> list[Attachment]:
    """Attach every file of ``uploads`` to the request (and to its event ``event_id``), all or none.

    Raises NotFound (the request is not the actor's to see), ValidationFailed on ``file`` (none sent, too
    many, the request closed to the enterprise, or a file refused: :class:`AttachmentTooLarge`,
    :class:`AttachmentTypeRefused`) or on ``event`` (no such message the actor may attach to).
    """
    ticket = get_visible_ticket_by_id(actor, ticket_id, for_update=True)
    _may_add(ticket, actor)
    event = _event_of(ticket, actor, event_id)
    sent = [u for u in uploads if u.filename]
    if not sent:
        message = _("Choose a file.")
        raise ValidationFailed(message, {"file": message})
    if len(sent) > PER_UPLOAD_MAX:
        message = _("At most %(n)d files at once.", n=PER_UPLOAD_MAX)
        raise ValidationFailed(message, {"file": message})
    held = db.session.scalar(select(func.count()).where(Attachment.ticket_id == ticket.id)) or 0
    if held + len(sent) > PER_TICKET_MAX:
        message = _("A request holds at most %(n)d files.", n=PER_TICKET_MAX)
        raise ValidationFailed(message, {"file": message})
    attachments = [_kept(ticket, actor, upload, event, now) for upload in sent]
    db.session.flush()
    return attachments


def attach(ticket_id: int, actor: User, upload: Upload, event_id: int | None, now: datetime) -> Attachment:
    """Attach one file to the request (and to its event ``event_id``); see :func:`attach_many`."""
    return attach_many(ticket_id, actor, [upload], event_id, now)[0]
