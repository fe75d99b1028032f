"""The liaisons' field work (issue 12): meetings (政企早茶会, 恳谈会) with their invitations, questions sent
in advance and the requests raised there, and visits to enterprises (走访).

A request raised at a meeting or on a visit keeps its link in :class:`TicketOrigin`, a row of its own rather
than a column of ``tickets``: most requests have none, and the request row (17 indexes, a million rows)
stays as it is.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db
from hotline.tickets.models import Channel, Urgency, _enum

if TYPE_CHECKING:
    from hotline.auth.models import User
    from hotline.enterprises.models import Building, Department, Enterprise, Street
    from hotline.tickets.models import Category, Ticket


class MeetingKind(enum.StrEnum):
    TEA_MEETING = "tea_meeting"  # 政企早茶会
    ROUNDTABLE = "roundtable"  # 恳谈会

    @property
    def channel(self) -> Channel:
        """The channel of the requests raised at a meeting of this kind."""
        return Channel(self.value)


class MeetingState(enum.StrEnum):
    SCHEDULED = "scheduled"  # invitations out; not held yet
    HELD = "held"  # its minutes (attendance, requests) are recorded
    CANCELLED = "cancelled"


class InvitationResponse(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"  # the enterprise's contact said it will come
    DECLINED = "declined"


class Meeting(db.Model):  # type: ignore[name-defined]
    """One 早茶会 or 恳谈会: when and where, the buildings it serves, its host, who is invited, who came."""

    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_host_starts", "host_id", "starts_at"),
        Index("ix_meetings_starts", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MeetingKind] = mapped_column(_enum(MeetingKind))
    title: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200))
    # The street it serves, when it serves a whole one (its buildings are listed in meeting_buildings too).
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[MeetingState] = mapped_column(_enum(MeetingState), default=MeetingState.SCHEDULED)
    # The minutes: a summary of what was discussed, when they were recorded and by whom.
    minutes: Mapped[str] = mapped_column(Text, default="")
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    host: Mapped[User] = relationship(foreign_keys=[host_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    street: Mapped[Street | None] = relationship()
    buildings: Mapped[list[Building]] = relationship(secondary="meeting_buildings", order_by="Building.name")
    departments: Mapped[list[Department]] = relationship(
        secondary="meeting_departments", order_by="Department.name"
    )
    invitations: Mapped[list[MeetingInvitation]] = relationship(
        back_populates="meeting", order_by="MeetingInvitation.id", cascade="all, delete-orphan"
    )

    @property
    def channel(self) -> Channel:
        return self.kind.channel


class MeetingBuilding(db.Model):  # type: ignore[name-defined]
    """A building a meeting serves: its enterprises may be invited, its next meeting's agenda follows up."""

    __tablename__ = "meeting_buildings"
    __table_args__ = (Index("ix_meeting_buildings_building", "building_id", "meeting_id"),)

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), primary_key=True)


class MeetingDepartment(db.Model):  # type: ignore[name-defined]
    """A district department that attends a meeting (to answer at the table what is theirs)."""

    __tablename__ = "meeting_departments"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)


class MeetingInvitation(db.Model):  # type: ignore[name-defined]
    """One enterprise invited to (or, walking in, recorded at) one meeting: its answer and its attendance."""

    __tablename__ = "meeting_invitations"
    __table_args__ = (
        UniqueConstraint("meeting_id", "enterprise_id"),
        # an enterprise's meetings (its profile, "my enterprises", the agenda's previous meeting)
        Index("ix_meeting_invitations_enterprise", "enterprise_id", "meeting_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    # False for an enterprise that came without an invitation (recorded with the minutes).
    invited: Mapped[bool] = mapped_column(Boolean, default=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    response: Mapped[InvitationResponse] = mapped_column(
        _enum(InvitationResponse), default=InvitationResponse.PENDING
    )
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Recorded by the host with the minutes: None until then.
    attended: Mapped[bool | None] = mapped_column(Boolean)

    meeting: Mapped[Meeting] = relationship(back_populates="invitations")
    enterprise: Mapped[Enterprise] = relationship()
    responded_by: Mapped[User | None] = relationship()


class MeetingQuestion(db.Model):  # type: ignore[name-defined]
    """A question an invited enterprise sends before the meeting: a draft request.

    It is not a request yet (no number, no clocks, outside the figures): at the meeting the host files it
    from the minutes' form, answered at the table or not, and ``ticket_id`` then names the request.
    """

    __tablename__ = "meeting_questions"
    __table_args__ = (Index("ix_meeting_questions_meeting", "meeting_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    contact_phone: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency), default=Urgency.NORMAL)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    enterprise: Mapped[Enterprise] = relationship()
    asked_by: Mapped[User] = relationship()
    category: Mapped[Category] = relationship()
    ticket: Mapped[Ticket | None] = relationship()


class Visit(db.Model):  # type: ignore[name-defined]
    """走访: a liaison's visit to an enterprise, whom it met and what was said."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_enterprise_day", "enterprise_id", "visited_on"),
        # 走访覆盖 reads a period's visits by building
        Index("ix_visits_building_day", "building_id", "visited_on"),
        Index("ix_visits_liaison_day", "liaison_id", "visited_on"),
        # 走访覆盖 of the district: a period's visits, whoever made them
        Index("ix_visits_day", "visited_on", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    # The enterprise's building on the day (it may move later; the visit stays with the building it covered).
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    liaison_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    visited_on: Mapped[date] = mapped_column(Date)  # the local (Asia/Shanghai) day of the visit
    met: Mapped[str] = mapped_column(String(200))  # who was met: names and positions
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    enterprise: Mapped[Enterprise] = relationship()
    building: Mapped[Building] = relationship()
    liaison: Mapped[User] = relationship(foreign_keys=[liaison_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])


class TicketOrigin(db.Model):  # type: ignore[name-defined]
    """Where a request was raised: at a meeting or on a visit (exactly one of them)."""

    __tablename__ = "ticket_origins"
    __table_args__ = (
        Index("ix_ticket_origins_meeting", "meeting_id"),
        Index("ix_ticket_origins_visit", "visit_id"),
        CheckConstraint("(meeting_id IS NULL) <> (visit_id IS NULL)", name="one_origin"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    # Answered at the table (filed and resolved in one step at the meeting or the visit).
    answered_on_the_spot: Mapped[bool] = mapped_column(Boolean, default=False)

    ticket: Mapped[Ticket] = relationship()
    meeting: Mapped[Meeting | None] = relationship()
    visit: Mapped[Visit | None] = relationship()
