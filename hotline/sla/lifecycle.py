"""How the clocks follow the lifecycle: subscribers to the core's domain events (``hotline.tickets.events``).

- ASSIGNED starts the acknowledge clock (``acknowledge_due_at``), unless the request stays in progress (handed
  over to another liaison: its resolve clock runs on);
- ACKNOWLEDGED and REOPENED start a resolve clock (``resolve_due_at``);
- RESOLVED opens the rating window (``rating_due_at``) and stores the working minutes the request took
  (``handling_minutes``, the average handling time of DESIGN §7).  The window is the enterprise's time to
  rate online: with the follow-up calls on, ``FOLLOWUP_AFTER_WORKING_DAYS`` working days, after which the
  request is in the managers' 回访 queue (hotline.followup); with them off, ``RATING_WINDOW_DAYS`` calendar
  days, after which the sweep closes it unrated.  A span the calendar cannot count (a year missing) takes
  the calendar days: a deadline that is always there rather than a guess of working days.

They run before the notifications (order :data:`~hotline.tickets.events.CLOCKS`), which quote the deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app

from hotline.sla import clocks
from hotline.sla.calendar import current_calendar
from hotline.sla.worktime import CalendarMissing
from hotline.tickets import events
from hotline.tickets.events import TicketChanged
from hotline.tickets.models import EventKind, TicketState

EXTENSION = "hotline.sla"


@dataclass(frozen=True)
class ClockSettings:
    """The clock settings that come from the configuration rather than the database."""

    rating_window: timedelta


def settings() -> ClockSettings:
    found: ClockSettings = current_app.extensions[EXTENSION]
    return found


def _start_acknowledge(change: TicketChanged) -> None:
    # a request handed over while in progress (ASSIGNED from and to in_progress) keeps the clock it runs on
    if change.ticket.state == TicketState.ASSIGNED:
        clocks.start_acknowledge_clock(change.ticket, change.now)


def _start_resolve(change: TicketChanged) -> None:
    clocks.start_resolve_clock(change.ticket, change.now)


def rating_due(resolved_at: datetime) -> datetime:
    """The end of the enterprise's time to rate a request resolved at ``resolved_at`` online."""
    days = int(current_app.config["FOLLOWUP_AFTER_WORKING_DAYS"])  # read each time: tests turn it off
    if days > 0:
        calendar = current_calendar()
        try:
            return calendar.add_working_minutes(resolved_at, days * calendar.minutes_per_day)
        except CalendarMissing:
            pass
    return resolved_at + settings().rating_window


def _resolved(change: TicketChanged) -> None:
    ticket = change.ticket
    ticket.rating_due_at = rating_due(change.now)
    try:
        ticket.handling_minutes = current_calendar().working_minutes_between(ticket.created_at, change.now)
    except CalendarMissing:  # the span needs a year the calendar lacks: no figure rather than a guess
        ticket.handling_minutes = None


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = ClockSettings(
        rating_window=timedelta(days=int(app.config["RATING_WINDOW_DAYS"]))
    )
    events.subscribe(_start_acknowledge, [EventKind.ASSIGNED], order=events.CLOCKS)
    events.subscribe(_start_resolve, [EventKind.ACKNOWLEDGED, EventKind.REOPENED], order=events.CLOCKS)
    events.subscribe(_resolved, [EventKind.RESOLVED], order=events.CLOCKS)
