"""The 回访 queue: resolved requests whose enterprise has not rated them ``FOLLOWUP_AFTER_WORKING_DAYS``
working days after their resolution, oldest resolution first.

A resolved request has no rating yet by definition (a rating closes or reopens it), so the queue is the
resolved requests resolved at or before :func:`due_before` — one range over the ``(state, …)`` indexes, no
column of its own: changing the setting or the calendar changes the queue at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


def due_before(now: datetime) -> datetime:
    """The latest resolution time whose request is due for its follow-up call at ``now``.

    When the calendar lacks a year the count crosses, every resolved request counts as due: the managers
    are warned of the missing year on every page, and a queue that hid the work would be a silent guess.
    """
    calendar = current_calendar()
    try:
        return calendar.subtract_working_minutes(now, after_working_days() * calendar.minutes_per_day)
    except CalendarMissing:
        return now


def queue_query(now: datetime) -> Select[tuple[Ticket]]:
    """The queue, oldest resolution first (then by id, for stable pages)."""
    return (
        select(Ticket)
        .where(Ticket.state == TicketState.RESOLVED, Ticket.resolved_at <= due_before(now))
        .options(joinedload(Ticket.enterprise), joinedload(Ticket.assignee))
        .order_by(Ticket.resolved_at, Ticket.id)
    )


def waiting_count(now: datetime) -> int:
    """Resolved requests not yet due: the enterprise may still rate them online."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.state == TicketState.RESOLVED, Ticket.resolved_at > due_before(now))
        )
        or 0
    )


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
