"""One row per administrative change or download: append-only, like the request events (DESIGN §4)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db
from hotline.tickets import append_only


class AuditAction(enum.StrEnum):
    """What an entry records; the services that write each are named beside it."""

    USER_CREATED = "user_created"  # hotline.auth.services.create_user
    USER_UPDATED = "user_updated"  # update_user
    USER_ACTIVATED = "user_activated"  # set_user_active
    USER_DEACTIVATED = "user_deactivated"  # set_user_active
    RESET_LINK_ISSUED = "reset_link_issued"  # hotline.auth.resets.issue_reset_link
    CALENDAR_DAY_SET = "calendar_day_set"  # hotline.sla.services.set_day
    CALENDAR_YEAR_ENTERED = "calendar_year_entered"  # enter_year
    CALENDAR_SYNCED = "calendar_synced"  # sync_calendar_from_package, when it loads a year
    CATEGORY_CLOCKS_SET = "category_clocks_set"  # set_category_clocks
    COVERAGE_ASSIGNED = "coverage_assigned"  # hotline.district.services.assign_coverage
    COVERAGE_ENDED = "coverage_ended"  # end_coverage
    COVERAGE_MOVED = "coverage_moved"  # move_coverage
    IMPORT_APPLIED = "import_applied"  # hotline.imports.services.apply
    EXPORT_DOWNLOADED = "export_downloaded"  # hotline.stats.export_views


class AuditEntry(db.Model):  # type: ignore[name-defined]
    """Who did what to which target, when.  The actor's name and role are copied in: the log must still say
    who it was after the account is renamed or changes role.  ``actor_id`` None is the system (the command
    line, a worker)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_created", "created_at", "id"),
        Index("ix_audit_entries_action_created", "action", "created_at"),
        Index("ix_audit_entries_actor_created", "actor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str] = mapped_column(String(64), default="")
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    actor_role: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# Never edited nor deleted, whoever asks: the same triggers as the request events (migration 0015 otherwise).
append_only.install(AuditEntry.__table__)
