"""One row per file attached to a request or to one of its messages (issue 13, point 1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db

NAME_MAX = 255  # the original name is cut to this many characters (it is only shown)


class Attachment(db.Model):  # type: ignore[name-defined]
    """A file attached to a request, or to one of its events (a reply, a note, added information).

    The file lives under ``ATTACHMENTS_DIR`` as ``stored_name`` (random hex, never the uploader's name);
    ``original_name`` is kept only to be shown and offered as the download's name.  ``content_type`` is
    what the content was found to be (:mod:`hotline.attachments.sniffing`), never what the browser said.
    ``internal``: attached to an internal note, so never shown to the enterprise.
    """

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    original_name: Mapped[str] = mapped_column(String(NAME_MAX))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    # the thumbnail's stored name (images only), made at upload
    thumbnail_name: Mapped[str | None] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
