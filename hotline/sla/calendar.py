"""The working-day calendar as stored in the database, and the working hours setting.

``current_calendar()`` builds a :class:`~hotline.sla.worktime.WorkCalendar` from ``calendar_days`` and the
``working_hours`` setting.  Years without rows are unknown: clocks that need them raise ``CalendarMissing``.
"""

from __future__ import annotations

from sqlalchemy import select

from hotline.extensions import db
from hotline.sla.models import CalendarDay, Setting
from hotline.sla.worktime import DEFAULT_HOURS, WorkCalendar, parse_hours

WORKING_HOURS_KEY = "working_hours"


def working_hours() -> tuple:  # type: ignore[type-arg]
    row = db.session.get(Setting, WORKING_HOURS_KEY)
    return parse_hours(row.value) if row else DEFAULT_HOURS


def current_calendar() -> WorkCalendar:
    """Every known day from the database (a few thousand rows at most) and the working hours."""
    rows = db.session.execute(select(CalendarDay.day, CalendarDay.is_workday)).all()
    days = {day: is_workday for day, is_workday in rows}
    return WorkCalendar(workdays=days, known_years=frozenset(d.year for d in days), hours=working_hours())
