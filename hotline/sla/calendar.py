"""The working-day calendar as stored in the database, and the working hours setting.

``current_calendar()`` builds a :class:`~hotline.sla.worktime.WorkCalendar` from ``calendar_days`` and the
``working_hours`` setting.  Years without rows are unknown: clocks that need them raise ``CalendarMissing``.

Building it reads a few thousand rows, so each process keeps the last one it built, keyed by the
``calendar_version`` setting: every change to the calendar or the working hours writes a new random stamp
there (:func:`bump_calendar_version`), and each call reads that one row, so a change made by any process
is seen by every other at its next call, never a stale calendar.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime

from sqlalchemy import extract, select
from sqlalchemy.exc import IntegrityError

from hotline.extensions import db
from hotline.sla.models import CalendarDay, Setting
from hotline.sla.worktime import DEFAULT_HOURS, Period, WorkCalendar, parse_hours

WORKING_HOURS_KEY = "working_hours"
VERSION_KEY = "calendar_version"

_lock = threading.Lock()
_cached: dict[str, tuple[str, WorkCalendar]] = {}


def working_hours() -> tuple[Period, ...]:
    value = db.session.scalar(select(Setting.value).where(Setting.key == WORKING_HOURS_KEY))
    return parse_hours(value) if value else DEFAULT_HOURS


def calendar_version() -> str | None:
    # No autoflush: every writer of the stamp flushes it at once (put_setting), and flushing the caller's
    # pending changes here would make this per-request read cost a flush.
    with db.session.no_autoflush:
        return db.session.scalar(select(Setting.value).where(Setting.key == VERSION_KEY))


def put_setting(key: str, value: str, now: datetime) -> None:
    """Insert or update one setting (a concurrent first insert of the same key is tolerated)."""
    row = db.session.get(Setting, key)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(Setting(key=key, value=value, updated_at=now))
            return
        except IntegrityError:  # another transaction created it first
            row = db.session.get(Setting, key, populate_existing=True)
            assert row is not None
    row.value = value
    row.updated_at = now
    db.session.flush()


def bump_calendar_version(now: datetime) -> None:
    """Mark the calendar changed, so that every process rebuilds it at its next :func:`current_calendar`."""
    put_setting(VERSION_KEY, uuid.uuid4().hex, now)


def known_years() -> set[int]:
    """The years that have calendar rows."""
    rows = db.session.scalars(select(extract("year", CalendarDay.day)).distinct())
    return {int(year) for year in rows}


def year_is_known(year: int) -> bool:
    first = db.session.scalar(
        select(CalendarDay.day).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))).limit(1)
    )
    return first is not None


def load_calendar() -> WorkCalendar:
    """Every known day from the database (a few thousand rows at most) and the working hours."""
    rows = db.session.execute(select(CalendarDay.day, CalendarDay.is_workday)).all()
    days = {day: is_workday for day, is_workday in rows}
    return WorkCalendar(workdays=days, known_years=frozenset(d.year for d in days), hours=working_hours())


def current_calendar() -> WorkCalendar:
    """The calendar in force, rebuilt only when the version stamp changed since this process last built it.

    A database that has no stamp yet (rows written by hand) is read every time rather than cached.
    """
    version = calendar_version()
    if version is None:
        return load_calendar()
    key = str(db.engine.url)
    with _lock:
        cached = _cached.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    calendar = load_calendar()
    with _lock:
        _cached[key] = (version, calendar)
    return calendar
