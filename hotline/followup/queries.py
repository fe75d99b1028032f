"""The 回访 queue: resolved requests whose enterprise has not rated them within its time to rate online.

That time is the request's ``rating_due_at``, set when it is resolved
(:func:`hotline.sla.lifecycle.rating_due`: ``FOLLOWUP_AFTER_WORKING_DAYS`` working days on the calendar).
A resolved request has no rating for its latest answer by definition (a rating closes or reopens it), so
the queue is the resolved requests whose ``rating_due_at`` has passed: one range of the
``(state, rating_due_at)`` index, the most overdue first.  A change of the setting applies to the requests
resolved after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from hotline.extensions import db
from hotline.followup.models import FollowupCall
from hotline.sla.calendar import current_calendar
from hotline.sla.worktime import CalendarMissing
from hotline.tickets.models import Ticket, TicketState


def after_working_days() -> int:
    return int(current_app.config["FOLLOWUP_AFTER_WORKING_DAYS"])


def enabled() -> bool:
    """Whether the follow-up calls are on (``FOLLOWUP_AFTER_WORKING_DAYS`` > 0)."""
    return after_working_days() > 0


def queue_query(now: datetime) -> Select[tuple[Ticket]]:
    """The queue, the longest waiting first (then by id, for stable pages)."""
    return (
        select(Ticket)
        .where(Ticket.state == TicketState.RESOLVED, Ticket.rating_due_at <= now)
        .options(joinedload(Ticket.enterprise), joinedload(Ticket.assignee))
        .order_by(Ticket.rating_due_at, Ticket.id)
    )


def waiting_count(now: datetime) -> int:
    """Resolved requests not yet due: the enterprise may still rate them online."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.state == TicketState.RESOLVED, Ticket.rating_due_at > now)
        )
        or 0
    )


BACKLOG_CAP = 1000  # a backlog's count stops here ("1000 or more"): the banner's read stays bounded


@dataclass(frozen=True)
class Backlog:
    """Requests in the queue longer than ``FOLLOWUP_STALE_WORKING_DAYS`` working days: how many (capped at
    :data:`BACKLOG_CAP`) and since when the oldest has waited."""

    count: int
    oldest: datetime | None


def stale_before(now: datetime) -> datetime:
    """The ``rating_due_at`` before which a request of the queue has waited too long (working days on the
    calendar; calendar days when it lacks the year)."""
    days = int(current_app.config["FOLLOWUP_STALE_WORKING_DAYS"])
    calendar = current_calendar()
    try:
        return calendar.subtract_working_minutes(now, days * calendar.minutes_per_day)
    except CalendarMissing:
        return now - timedelta(days=days)


def backlog(now: datetime) -> Backlog | None:
    """The queue's requests waiting too long, or None when there are none (or the calls are off): what the
    managers' pages warn of, since nothing else closes a request that nobody calls.  Two reads of the
    ``(state, rating_due_at)`` index, bounded."""
    if not enabled():
        return None
    stale = select(Ticket.id).where(
        Ticket.state == TicketState.RESOLVED, Ticket.rating_due_at <= stale_before(now)
    )
    count = int(db.session.scalar(select(func.count()).select_from(stale.limit(BACKLOG_CAP).subquery())) or 0)
    if not count:
        return None
    oldest = db.session.scalar(
        select(func.min(Ticket.rating_due_at)).where(Ticket.state == TicketState.RESOLVED)
    )
    return Backlog(count, oldest)


@dataclass(frozen=True)
class Attempts:
    """The calls made so far for one request of the queue."""

    count: int
    last_at: datetime | None


def attempts_of(ticket_ids: list[int]) -> dict[int, Attempts]:
    """The calls of a page's requests since their latest resolution, in one query."""
    if not ticket_ids:
        return {}
    rows = db.session.execute(
        select(FollowupCall.ticket_id, func.count(), func.max(FollowupCall.called_at))
        .join(Ticket, Ticket.id == FollowupCall.ticket_id)
        .where(FollowupCall.ticket_id.in_(ticket_ids), FollowupCall.recorded_at >= Ticket.resolved_at)
        .group_by(FollowupCall.ticket_id)
    ).all()
    found = {row[0]: Attempts(int(row[1]), row[2]) for row in rows}
    return {ticket_id: found.get(ticket_id, Attempts(0, None)) for ticket_id in ticket_ids}
