"""The outbox (DESIGN §8): work for the workers, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db

if TYPE_CHECKING:
    from hotline.tickets.models import Ticket


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """A message for a worker: ``topic`` names the task, ``payload`` holds ids and plain values."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_pending", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # never set (ticket_id is): it orders a new request's insert before its messages' in a flush
    ticket: Mapped[Ticket | None] = relationship(lazy="raise")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # the id of the web request that wrote it, sent along as a task header when it is published (hotline.ops)
    request_id: Mapped[str | None] = mapped_column(String(64))
