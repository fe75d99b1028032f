"""Deadlines of a request (DESIGN §5), computed in working time when the state that starts them is entered.

Two clocks, one running at a time: *acknowledge* while a request is assigned (from ``assigned_at``, the
category's limit in working minutes) and *resolve* while it is in progress (from ``resolve_started_at``, the
category's limit in working days plus the days of approved extensions).  Urgent requests have their own
limits.

A year missing from the calendar never becomes a Monday-to-Friday guess: the deadline stays None, the
lifecycle goes on, and managers are told about the missing year (:func:`hotline.sla.services.missing_years`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from flask_babel import gettext as _

from hotline.extensions import db
from hotline.sla.calendar import current_calendar
from hotline.sla.models import Clock, ClockSchedule
from hotline.sla.worktime import CalendarMissing, WorkCalendar
from hotline.tickets.models import Ticket, TicketState, Urgency

log = logging.getLogger(__name__)

WARNING_FRACTION = 0.8
# Escalation level 2 comes this many working days after the deadline.
ESCALATION_2_DAYS = 1


# --------------------------------------------------------------------------- limits and deadlines


def acknowledge_limit_minutes(ticket: Ticket) -> int:
    category = ticket.category
    if ticket.urgency == Urgency.URGENT:
        return int(category.acknowledge_minutes_urgent)
    return int(category.acknowledge_minutes)


def resolve_limit_days(ticket: Ticket) -> int:
    category = ticket.category
    return int(category.resolve_days_urgent if ticket.urgency == Urgency.URGENT else category.resolve_days)


def acknowledge_due(ticket: Ticket, start: datetime, calendar: WorkCalendar) -> datetime:
    """Raises CalendarMissing."""
    return calendar.add_working_minutes(start, acknowledge_limit_minutes(ticket))


def resolve_due(ticket: Ticket, start: datetime, calendar: WorkCalendar, extension_days: int = 0) -> datetime:
    """Raises CalendarMissing."""
    return calendar.add_working_days(start, resolve_limit_days(ticket) + extension_days)


def running_clock(ticket: Ticket) -> tuple[Clock, datetime, datetime] | None:
    """The clock that runs in the request's state, as (clock, started at, due at); None when none runs."""
    if ticket.state == TicketState.ASSIGNED and ticket.assigned_at and ticket.acknowledge_due_at:
        return Clock.ACKNOWLEDGE, ticket.assigned_at, ticket.acknowledge_due_at
    if ticket.state == TicketState.IN_PROGRESS and ticket.resolve_started_at and ticket.resolve_due_at:
        return Clock.RESOLVE, ticket.resolve_started_at, ticket.resolve_due_at
    return None


# --------------------------------------------------------------------------- alert thresholds


@dataclass(frozen=True)
class Thresholds:
    """When each alert level of one clock is reached.

    ``escalation_2_at`` is None while the calendar lacks the working day after the deadline (the year is
    not entered yet); entering it re-derives every clock and its thresholds.
    """

    warning_at: datetime
    due_at: datetime
    escalation_2_at: datetime | None

    def next_after(self, now: datetime) -> datetime | None:
        """The first threshold after ``now``; None when all are reached (or level 2 cannot be placed)."""
        for moment in (self.warning_at, self.due_at, self.escalation_2_at):
            if moment is not None and moment > now:
                return moment
        return None


def thresholds(start: datetime, due: datetime, calendar: WorkCalendar) -> Thresholds:
    """Warning at 80 % of the clock's working time, overdue at the deadline, level 2 a working day later.

    Raises CalendarMissing when the clock's own span is not in the calendar.
    """
    total = max(calendar.working_minutes_between(start, due), 0)
    warning_at = calendar.add_working_minutes(start, math.ceil(total * WARNING_FRACTION))
    warning_at = min(warning_at, due)
    try:
        escalation_2_at: datetime | None = calendar.add_working_days(due, ESCALATION_2_DAYS)
    except CalendarMissing as missing:
        log.warning("escalation level 2 after %s cannot be placed yet: %s", due.isoformat(), missing)
        escalation_2_at = None
    return Thresholds(warning_at=warning_at, due_at=due, escalation_2_at=escalation_2_at)


def schedule(
    ticket: Ticket, clock: Clock, start: datetime, due: datetime | None, calendar: WorkCalendar | None = None
) -> None:
    """Write the clock's row for the sweeps, from the clock's first threshold on.

    The first threshold, not the next one after ``now``: a clock re-derived late (a year entered after its
    deadline) may have levels reached and not raised yet.  The next sweep looks at it once, raises what is
    missing (the alert keys stop repeats) and moves the row on.  With no deadline (calendar missing) there
    is nothing to sweep; when the thresholds cannot be computed, the deadline itself is the moment.
    """
    row = db.session.get(ClockSchedule, ticket.id)
    if due is None:
        if row is not None:
            row.next_alert_at = None
        return
    try:
        next_at = thresholds(start, due, calendar or current_calendar()).warning_at
    except CalendarMissing:
        next_at = due
    if row is None:
        row = ClockSchedule(ticket_id=ticket.id)
        db.session.add(row)
    row.clock = clock
    row.started_at = start
    row.due_at = due
    row.next_alert_at = next_at


# --------------------------------------------------------------------------- hooks called by the lifecycle


def start_acknowledge_clock(ticket: Ticket, now: datetime) -> None:
    """Set ``acknowledge_due_at`` from the category's limit (urgent requests have their own).

    A missing calendar year leaves the deadline None (logged) and never fails the assignment.
    """
    calendar = current_calendar()
    try:
        ticket.acknowledge_due_at = acknowledge_due(ticket, now, calendar)
    except CalendarMissing as missing:
        log.warning("acknowledge clock of %s not started: %s", ticket.number, missing)
        ticket.acknowledge_due_at = None
    schedule(ticket, Clock.ACKNOWLEDGE, now, ticket.acknowledge_due_at, calendar)


def start_resolve_clock(ticket: Ticket, now: datetime) -> None:
    """Set ``resolve_started_at`` and ``resolve_due_at`` from the category's limit in working days.

    A missing calendar year leaves the deadline None (logged) and never fails the acknowledgement.
    """
    ticket.resolve_started_at = now
    calendar = current_calendar()
    try:
        ticket.resolve_due_at = resolve_due(ticket, now, calendar)
    except CalendarMissing as missing:
        log.warning("resolve clock of %s not started: %s", ticket.number, missing)
        ticket.resolve_due_at = None
    schedule(ticket, Clock.RESOLVE, now, ticket.resolve_due_at, calendar)


# --------------------------------------------------------------------------- clock lights


@dataclass(frozen=True)
class ClockLight:
    """The running clock of a request as a traffic light, with the working time left."""

    clock: Literal["acknowledge", "resolve"]
    colour: Literal["green", "yellow", "red"]
    due_at: datetime
    remaining_minutes: int  # working minutes; negative when late
    fraction_used: float  # of the clock's working time; above 1 when late
    minutes_per_day: int

    @property
    def description(self) -> str:
        if self.colour == "red" and self.remaining_minutes >= 0:
            # Past the deadline but no working time yet since (the evening after a 17:30 deadline).
            return _("overdue")
        return describe_remaining(self.remaining_minutes, self.minutes_per_day)


def light(ticket: Ticket, now: datetime, calendar: WorkCalendar | None = None) -> ClockLight | None:
    """The light of the running clock: acknowledge while assigned, resolve while in progress, else None.

    Yellow once 80 % of the clock's working time is used, red from the deadline on.  None as well when the
    request has no deadline or the calendar lacks a year needed to measure it.
    """
    running = running_clock(ticket)
    if running is None:
        return None
    clock, start, due = running
    calendar = calendar or current_calendar()
    try:
        total = calendar.working_minutes_between(start, due)
        used = calendar.working_minutes_between(start, now)
        remaining = calendar.working_minutes_between(now, due)
    except CalendarMissing as missing:
        log.warning("no clock light for %s: %s", ticket.number, missing)
        return None
    fraction = used / total if total > 0 else 1.0
    if now >= due:
        colour: Literal["green", "yellow", "red"] = "red"
    elif fraction >= WARNING_FRACTION:
        colour = "yellow"
    else:
        colour = "green"
    return ClockLight(
        clock=clock.value,
        colour=colour,
        due_at=due,
        remaining_minutes=remaining,
        fraction_used=fraction,
        minutes_per_day=calendar.minutes_per_day,
    )


def describe_remaining(minutes: int, minutes_per_day: int) -> str:
    """The working time left in working terms: days from one working day on, hours below that."""
    amount = abs(minutes)
    if minutes_per_day > 0 and amount >= minutes_per_day:
        days = f"{amount / minutes_per_day:.1f}"
        if minutes < 0:
            return _("overdue by %(n)s working days", n=days)
        return _("%(n)s working days left", n=days)
    hours = f"{amount / 60:.1f}"
    if minutes < 0:
        return _("overdue by %(n)s working hours", n=hours)
    return _("%(n)s working hours left", n=hours)
