"""Deadlines of a request (DESIGN §5), computed in working time when the state that starts them is entered."""

from __future__ import annotations

from datetime import datetime

from hotline.sla.calendar import current_calendar
from hotline.sla.worktime import CalendarMissing
from hotline.tickets.models import Ticket, Urgency


def start_acknowledge_clock(ticket: Ticket, now: datetime) -> None:
    """Set ``acknowledge_due_at`` from the category's limit (urgent requests have their own)."""
    category = ticket.category
    minutes = (
        category.acknowledge_minutes_urgent
        if ticket.urgency == Urgency.URGENT
        else category.acknowledge_minutes
    )
    try:
        ticket.acknowledge_due_at = current_calendar().add_working_minutes(now, minutes)
    except CalendarMissing:
        ticket.acknowledge_due_at = None


def start_resolve_clock(ticket: Ticket, now: datetime) -> None:
    """Set ``resolve_started_at`` and ``resolve_due_at`` from the category's limit in working days."""
    category = ticket.category
    days = category.resolve_days_urgent if ticket.urgency == Urgency.URGENT else category.resolve_days
    ticket.resolve_started_at = now
    try:
        ticket.resolve_due_at = current_calendar().add_working_days(now, days)
    except CalendarMissing:
        ticket.resolve_due_at = None
