"""Reply templates (常用回复): texts staff keep to answer common requests in one click (issue 13, point 5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.auth.models import User
from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db
from hotline.tickets.models import Category


class ReplyTemplate(db.Model):  # type: ignore[name-defined]
    """One template: personal (seen by its owner only) or shared (seen by every member of staff).

    ``category_id`` set: offered first on the requests of that category.  ``body`` may hold the
    placeholders of :mod:`hotline.replies.placeholders`.  Archived templates (``archived_at``) are no longer
    listed nor offered; the row stays, as a reply once sent quoted it.
    """

    __tablename__ = "reply_templates"
    __table_args__ = (
        Index("ix_reply_templates_owner", "owner_id", "archived_at"),
        Index("ix_reply_templates_shared", "shared", "archived_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner: Mapped[User] = relationship()
    category: Mapped[Category | None] = relationship()
