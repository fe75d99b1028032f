"""Requests (诉求), their categories, events (the timeline and audit trail) and ratings."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db

if TYPE_CHECKING:
    from hotline.auth.models import User
    from hotline.enterprises.models import Building, Department, Enterprise


def _values(e: type[enum.Enum]) -> list[str]:
    return [m.value for m in e]


def _enum(e: type[enum.Enum]) -> Enum:
    return Enum(e, native_enum=False, length=24, values_callable=_values)


class TicketState(enum.StrEnum):
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


OPEN_STATES = (TicketState.SUBMITTED, TicketState.ASSIGNED, TicketState.IN_PROGRESS, TicketState.RETURNED)
# What a liaison holds: handed over with its workload; an account holding any stays active.
HELD_STATES = (TicketState.ASSIGNED, TicketState.IN_PROGRESS, TicketState.RETURNED)
# Not final yet: open, or resolved and awaiting the rating (the predicate of ix_tickets_live_created).
_LIVE_STATES_SQL = "state IN ('submitted', 'assigned', 'in_progress', 'returned', 'resolved')"
# What the lists and the figures' drill-downs filter on (who may see a request, the dashboard's filter, the
# figures' conditions): included in ix_tickets_created_cover.
LIST_FILTER_COLUMNS = (
    "state",
    "enterprise_id",
    "building_id",
    "street_id",
    "category_id",
    "channel",
    "assignee_id",
    "department_id",
    "acknowledged_at",
    "acknowledge_due_at",
    "resolved_at",
    "resolve_due_at",
    "rating_score",
    "reopen_count",
    "handling_minutes",
    "rating_source",
    "first_rating_score",
    "late_returns",
)


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Channel(enum.StrEnum):
    WEB = "web"
    PHONE = "phone"
    TEA_MEETING = "tea_meeting"
    ROUNDTABLE = "roundtable"
    VISIT = "visit"
    API = "api"


# Channels a liaison may record on behalf of an enterprise.
RECORDED_CHANNELS = (Channel.PHONE, Channel.TEA_MEETING, Channel.ROUNDTABLE, Channel.VISIT)


class RatingScore(enum.StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class RatingSource(enum.StrEnum):
    """How a rating reached the system: the enterprise online, or staff recording a follow-up call (回访)."""

    ENTERPRISE = "enterprise"
    FOLLOWUP_CALL = "followup_call"


class FollowupOutcome(enum.StrEnum):
    """What the enterprise's contact said on a follow-up call (回访): is the problem solved?"""

    SOLVED = "solved"  # 问题已解决
    UNSOLVED = "unsolved"  # 未解决


class EventKind(enum.StrEnum):
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    REPLIED = "replied"
    NOTED = "noted"
    INFO_ADDED = "info_added"
    TRANSFERRED = "transferred"
    HANDED_BACK = "handed_back"
    RETURNED = "returned"
    RETURN_ACCEPTED = "return_accepted"
    RETURN_REFUSED = "return_refused"
    RESOLVED = "resolved"
    RATED = "rated"
    REOPENED = "reopened"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    # written by the workers and the clock sweeps (issue 3)
    POOLED = "pooled"  # routing found nobody: the request waits in the dispatch pool
    WARNING = "warning"  # a clock reached 80 % of its working time
    OVERDUE = "overdue"  # a clock passed its deadline (escalation level 1)
    ESCALATED = "escalated"  # escalation level 2: one more working day past the deadline
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_APPROVED = "extension_approved"
    EXTENSION_REFUSED = "extension_refused"
    CLOCKS_RECOMPUTED = "clocks_recomputed"  # the calendar or working hours changed
    # 回访 (issue 11): a follow-up call to an enterprise that did not rate, answered or not (hotline.followup)
    FOLLOWUP_CALLED = "followup_called"
    # 并单 (issue 13): on the merged request (to state merged) and on the main one (it took X in); undone
    MERGED = "merged"
    UNMERGED = "unmerged"
    LINKED = "linked"  # related (not merged) to another request, on both
    UNLINKED = "unlinked"


class Category(db.Model):  # type: ignore[name-defined]
    """诉求类别, with the clocks that apply by default to its requests."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    name_en: Mapped[str] = mapped_column(String(80), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    acknowledge_minutes: Mapped[int] = mapped_column(Integer, default=120)
    acknowledge_minutes_urgent: Mapped[int] = mapped_column(Integer, default=30)
    resolve_days: Mapped[int] = mapped_column(Integer, default=5)
    resolve_days_urgent: Mapped[int] = mapped_column(Integer, default=1)


class Ticket(db.Model):  # type: ignore[name-defined]
    """One request from one enterprise.

    Deadlines and the latest rating are kept on the row, for the figures.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_state_created", "state", "created_at"),
        # including the building: a liaison's counts by state are index-only (queries.visible_state_counts)
        Index("ix_tickets_assignee_state", "assignee_id", "state", postgresql_include=["building_id"]),
        Index("ix_tickets_enterprise_created", "enterprise_id", "created_at"),
        Index("ix_tickets_building_state", "building_id", "state"),
        Index("ix_tickets_department_state", "department_id", "state"),
        Index("ix_tickets_state_rating_due", "state", "rating_due_at"),
        Index("ix_tickets_state_acknowledge_due", "state", "acknowledge_due_at"),
        Index("ix_tickets_state_resolve_due", "state", "resolve_due_at"),
        # Every list of requests pages through this one (hotline.tickets.paging): ordered as the lists are and
        # covering on PostgreSQL every column a list or a drill-down filters on, so a page's ids are an
        # index-only scan for any role, filter and page number (bench/web.py prints the plans).
        Index("ix_tickets_created_cover", "created_at", "id", postgresql_include=list(LIST_FILTER_COLUMNS)),
        # The figures read requests that are not closed live (closed ones come from the monthly rollup,
        # hotline.stats.models): a partial index on the few percent not final, covering on PostgreSQL so the
        # dashboard's queries are index-only scans (bench/stats.py: 7 ms per query over a year, 20 without).
        Index(
            "ix_tickets_live_created",
            "created_at",
            postgresql_where=text(_LIVE_STATES_SQL),
            sqlite_where=text(_LIVE_STATES_SQL),
            postgresql_include=[
                "state",
                "street_id",
                "building_id",
                "category_id",
                "channel",
                "assignee_id",
                "acknowledged_at",
                "acknowledge_due_at",
                "resolved_at",
                "resolve_due_at",
                "rating_score",
                "reopen_count",
                "handling_minutes",
                "rating_source",
                "first_rating_score",
                "late_returns",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    # The building at submission time: the request stays with it if the enterprise moves.
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    # The building's street at submission, copied so the figures filter and group by street without a join.
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency), default=Urgency.NORMAL)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.WEB)
    contact_phone: Mapped[str] = mapped_column(String(32))
    state: Mapped[TicketState] = mapped_column(_enum(TicketState), default=TicketState.SUBMITTED)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The state a return (退单) was raised from, so that refusing it puts the request back there.
    returned_from_state: Mapped[TicketState | None] = mapped_column(_enum(TicketState))
    # Who last gave the request back: the next assignment must not be that liaison again.
    last_returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledge_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the running resolve clock started: acknowledgement, or reopening after a dissatisfied rating.
    resolve_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when routing found nobody: the request waits for a manager in the dispatch pool.
    pooled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 0 none, 1 overdue (supervisors told), 2 one more working day late (district managers told).
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    rating_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    answer: Mapped[str | None] = mapped_column(Text)
    rating_score: Mapped[RatingScore | None] = mapped_column(_enum(RatingScore))
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest rating's source and the first rating's score (issue 11): the figures tell the enterprise's
    # own ratings from recorded calls, and the first verdict from the one after 重办, without reading ratings.
    rating_source: Mapped[RatingSource | None] = mapped_column(_enum(RatingSource))
    first_rating_score: Mapped[RatingScore | None] = mapped_column(_enum(RatingScore))
    # Signing clocks stopped by a return (退单) after their deadline: late for the response rate (DESIGN §7),
    # whatever happens to the next clock.
    late_returns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # Working minutes from submission to the (latest) resolution, set by ``resolve``; None while not resolved
    # or when the calendar lacked a year of the span.  Stored because the figures average it over 1M rows.
    handling_minutes: Mapped[int | None] = mapped_column(Integer)

    enterprise: Mapped[Enterprise] = relationship()
    building: Mapped[Building] = relationship()
    category: Mapped[Category] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    department: Mapped[Department | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="save-update, merge"
    )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def __repr__(self) -> str:
        return f"<Ticket {self.number} {self.state}>"


class TicketEvent(db.Model):  # type: ignore[name-defined]
    """One change to a request.  Append-only: the enterprise's timeline (public ones) and the audit trail."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    from_state: Mapped[TicketState | None] = mapped_column(_enum(TicketState))
    to_state: Mapped[TicketState | None] = mapped_column(_enum(TicketState))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Rating(db.Model):  # type: ignore[name-defined]
    """回访/评价: every rating given; the request row keeps the latest one."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    score: Mapped[RatingScore] = mapped_column(_enum(RatingScore))
    comment: Mapped[str] = mapped_column(Text, default="")
    # Who recorded it (the enterprise's contact, or the staff member who made the call) and when.
    rated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[RatingSource] = mapped_column(
        _enum(RatingSource), default=RatingSource.ENTERPRISE, server_default=RatingSource.ENTERPRISE.value
    )

    rated_by: Mapped[User] = relationship()


class TicketCounter(db.Model):  # type: ignore[name-defined]
    """The last request number issued on a day (Asia/Shanghai), for numbers like QH20260103-0001."""

    __tablename__ = "ticket_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


# Events and ratings are never edited or deleted (DESIGN §4): in databases made by ``create_all`` too,
# triggers refuse UPDATE and DELETE of their rows (hotline/tickets/append_only.py; migration 0004 otherwise).
from hotline.tickets import append_only  # noqa: E402  (after the models, which it does not need)

append_only.install(TicketEvent.__table__)
append_only.install(Rating.__table__)

# Search over number, title, description and contact phone, Chinese substrings included (issue 9, point 4):
# GIN indexes over one document expression on PostgreSQL, an FTS5 table kept by triggers on SQLite
# (hotline/tickets/search_index.py; migration 0008 otherwise).
from hotline.tickets import search_index  # noqa: E402  (after the models, which it does not need)

search_index.postgresql_indexes(search_index.ticket_document(Ticket.__table__.c), "ix_tickets_search")
# A search by the start of a number walks this range from its end (hotline.tickets.search._by_number): byte
# order whatever the database's collation, so a prefix's range is exactly its numbers (migration 0019).
Index("ix_tickets_number_c", Ticket.__table__.c.number.collate("C")).ddl_if(dialect="postgresql")
search_index.install(Ticket.__table__, search_index.TICKET_FIELDS)
