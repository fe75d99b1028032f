"""In-app notifications; each may also go out by email through the outbox."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.auth.models import User
from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db


class NotificationKind(enum.StrEnum):
    ASSIGNED = "assigned"  # to the assignee
    POOLED = "pooled"  # nobody could be routed: to managers
    WARNING = "warning"  # a clock is at 80 %: to the assignee
    OVERDUE = "overdue"  # a clock has passed: to the assignee
    ESCALATED = "escalated"  # level 1 (supervisors/managers) or 2 (district managers)
    REPLIED = "replied"  # to the enterprise's contacts
    RESOLVED = "resolved"  # to the enterprise's contacts
    REOPENED = "reopened"  # to the assignee
    INFO_ADDED = (
        "info_added"  # the enterprise added information: to the assignee and the department holding it
    )
    WITHDRAWN = "withdrawn"  # the enterprise withdrew the request: to the assignee
    TRANSFERRED = "transferred"  # to the department's staff
    RETURNED = "returned"  # a return awaits review: to managers
    EXTENSION_REQUESTED = "extension_requested"  # to managers
    EXTENSION_DECIDED = "extension_decided"  # to the assignee
    CALENDAR_MISSING = "calendar_missing"  # next year's working days are not entered: to managers
    CLAIM_FILED = "claim_filed"  # someone claims a registered enterprise: to its building's liaisons
    CLAIM_CONFIRMED = "claim_confirmed"  # to the claimant, now a contact of the enterprise
    CLAIM_REJECTED = "claim_rejected"  # to the claimant, whose account stays without an enterprise
    # meetings (hotline.meetings.notices): to the invited enterprises' contacts
    MEETING_INVITED = "meeting_invited"
    MEETING_MOVED = "meeting_moved"  # its time or place changed
    MEETING_CANCELLED = "meeting_cancelled"
    # 并单 (hotline.merge.notices): to the contacts of the enterprise whose request was merged
    MERGED = "merged"  # its request went into a main one
    MERGED_ANSWERED = "merged_answered"  # the main request it went into is answered


class Notification(db.Model):  # type: ignore[name-defined]
    """One message to one user; its text is rendered from ``kind`` and ``params`` in the reader's language."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])
    )
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # email: None = not to be sent (no address), "pending", "sent", "failed"
    email_state: Mapped[str | None] = mapped_column(String(16))
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
