"""Working-day calendar, settings, clock alerts (warnings, overdue, escalations) and extension requests."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.auth.models import User
from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db


def _values(e: type[enum.Enum]) -> list[str]:
    return [m.value for m in e]


class DaySource(enum.StrEnum):
    PACKAGE = "package"  # from chinese-calendar (statutory holidays and 调休 make-up days)
    WEEKDAY = (
        "weekday"  # a year the package does not know, entered by a manager as Monday–Friday to start from
    )
    OVERRIDE = "override"  # set by a manager (a local closure, a newly published holiday)


class CalendarDay(db.Model):  # type: ignore[name-defined]
    """One day of a known year: working or not.  A year is known when it has rows; there is no fallback."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[DaySource] = mapped_column(
        Enum(DaySource, native_enum=False, length=16, values_callable=_values)
    )
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Setting(db.Model):  # type: ignore[name-defined]
    """Manager-editable settings, e.g. ``working_hours`` = ``09:00-12:00,13:30-17:30``."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Clock(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class AlertLevel(enum.StrEnum):
    WARNING = "warning"  # 80 % of the clock's working time used (yellow)
    OVERDUE = "overdue"  # past the deadline (red); escalation level 1 goes with it
    ESCALATION_2 = "escalation_2"  # one more working day past the deadline: district managers


class ClockAlert(db.Model):  # type: ignore[name-defined]
    """A warning, overdue mark or escalation raised for one deadline of one request.

    The unique key makes each level fire once per clock and deadline, however many sweeps (or beats) run;
    an extension sets a new deadline, which may then raise its own alerts.
    """

    __tablename__ = "clock_alerts"
    __table_args__ = (UniqueConstraint("ticket_id", "clock", "level", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    clock: Mapped[Clock] = mapped_column(Enum(Clock, native_enum=False, length=16, values_callable=_values))
    level: Mapped[AlertLevel] = mapped_column(
        Enum(AlertLevel, native_enum=False, length=16, values_callable=_values)
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClockSchedule(db.Model):  # type: ignore[name-defined]
    """The running clock of one request and the next moment a sweep has something to raise for it.

    Written when a clock starts or its deadline is re-derived (calendar change, extension), and by each
    sweep after it raised what was due.  The sweep reads only rows whose ``next_alert_at`` has come (an
    indexed range scan), so its cost follows the alerts to raise, not the number of open requests.
    ``next_alert_at`` is None when every level of the clock has been raised or the request left the clock's
    state for good.
    """

    __tablename__ = "clock_schedules"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    clock: Mapped[Clock] = mapped_column(Enum(Clock, native_enum=False, length=16, values_callable=_values))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class ExtensionState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class Extension(db.Model):  # type: ignore[name-defined]
    """延期: the assignee asks for more working days on the resolve clock; a manager decides."""

    __tablename__ = "extensions"
    __table_args__ = (Index("ix_extensions_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[ExtensionState] = mapped_column(
        Enum(ExtensionState, native_enum=False, length=16, values_callable=_values),
        default=ExtensionState.PENDING,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    old_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
