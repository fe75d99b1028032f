"""Linked requests (related, not merged: issue 13 point 3): one row per pair, the smaller id first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db


class TicketLink(db.Model):  # type: ignore[name-defined]
    """Two requests shown on each other's page as related (a staff member linked them)."""

    __tablename__ = "ticket_links"
    __table_args__ = (
        CheckConstraint("ticket_id < linked_id", name="ordered"),
        Index("ix_ticket_links_linked", "linked_id", "ticket_id"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    linked_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
