"""Working time: working days (statutory holidays and 调休 make-up days) and working hours, Asia/Shanghai.

A :class:`WorkCalendar` is built from a set of *known* years, each day marked working or not.
Asking about a day of a year it does not know raises :class:`CalendarMissing` — never a silent
Monday-to-Friday guess (DESIGN §5).
Pure functions over plain values: the database side lives in :mod:`hotline.sla.calendar`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class CalendarMissing(LookupError):
    """The working-day calendar has no data for a year that a clock needs."""

    def __init__(self, year: int) -> None:
        super().__init__(f"no working-day calendar for {year}")
        self.year = year


@dataclass(frozen=True)
class Period:
    start: time
    end: time

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


DEFAULT_HOURS = (Period(time(9, 0), time(12, 0)), Period(time(13, 30), time(17, 30)))


class HoursError(ValueError):
    """Working hours that cannot be used; ``reason`` says why, ``part`` is the offending period text.

    Reasons: ``format`` (not like 09:00-12:00), ``order`` (ends before it starts), ``overlap`` (starts before
    the period before it ends), ``empty`` (no period at all).  The message itself is English, for logs; pages
    translate the reason.
    """

    def __init__(self, reason: str, part: str = "") -> None:
        messages = {
            "format": f"'{part}' is not a period like 09:00-12:00",
            "order": f"'{part}' ends before it starts",
            "overlap": f"'{part}' overlaps the period before it",
            "empty": "at least one working period is needed",
        }
        super().__init__(messages[reason])
        self.reason = reason
        self.part = part


def parse_hours(text: str) -> tuple[Period, ...]:
    """Parse ``"09:00-12:00,13:30-17:30"``; raises :class:`HoursError` (a ValueError) with the reason."""
    periods: list[Period] = []
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            start_s, end_s = (p.strip() for p in part.split("-"))
            start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
        except ValueError:
            raise HoursError("format", part) from None
        if start.second or end.second or start.microsecond or end.microsecond:
            raise HoursError("format", part)
        if end <= start:
            raise HoursError("order", part)
        if periods and start < periods[-1].end:
            raise HoursError("overlap", part)
        periods.append(Period(start, end))
    if not periods:
        raise HoursError("empty")
    return tuple(periods)


def format_hours(periods: Sequence[Period]) -> str:
    """The canonical text of working periods, e.g. ``09:00-12:00,13:30-17:30``."""
    return ",".join(f"{p.start:%H:%M}-{p.end:%H:%M}" for p in periods)


@dataclass
class WorkCalendar:
    """Working days of the known years plus the daily working periods."""

    workdays: Mapping[date, bool]
    known_years: frozenset[int]
    hours: Sequence[Period] = DEFAULT_HOURS
    _day_minutes: int = field(init=False)

    def __post_init__(self) -> None:
        self._day_minutes = sum(p.minutes for p in self.hours)

    @property
    def minutes_per_day(self) -> int:
        return self._day_minutes

    def is_workday(self, day: date) -> bool:
        if day.year not in self.known_years:
            raise CalendarMissing(day.year)
        return bool(self.workdays.get(day, False))

    # -- stepping through working time -------------------------------------------------------------------

    def _periods_of(self, day: date) -> Iterable[tuple[datetime, datetime]]:
        for period in self.hours:
            yield (
                datetime.combine(day, period.start, LOCAL_TZ),
                datetime.combine(day, period.end, LOCAL_TZ),
            )

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` of working time after ``start`` (an aware datetime); returned in UTC.

        A start outside working time begins counting at the next working period.  With 0 minutes the answer
        is the start itself moved to the next working moment.
        """
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        moment = start.astimezone(LOCAL_TZ)
        remaining = timedelta(minutes=minutes)
        day = moment.date()
        # A year has at most ~250 working days; 4 years bounds any clock we set.
        for _ in range(366 * 4):
            if self.is_workday(day):
                for begin, end in self._periods_of(day):
                    if moment >= end:
                        continue
                    begin = max(begin, moment)
                    if begin + remaining <= end:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= end - begin
            day += timedelta(days=1)
            moment = datetime.combine(day, time(0), LOCAL_TZ)
        raise ValueError("clock too long")

    def subtract_working_minutes(self, end: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` of working time before ``end`` (an aware datetime); returned in UTC.

        The mirror of :meth:`add_working_minutes`: the latest moment from which ``minutes`` of working time
        run up to ``end``.  An end outside working time counts back from the close of the working period
        before it; with 0 minutes the answer is the last working moment at or before ``end`` (``end`` itself
        in working time, else that close).  Raises :class:`CalendarMissing` when counting back reaches a
        year the calendar does not know.
        """
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        moment = end.astimezone(LOCAL_TZ)
        remaining = timedelta(minutes=minutes)
        day = moment.date()
        for _ in range(366 * 4):  # the same bound as add_working_minutes
            if self.is_workday(day):
                for begin, finish in reversed(list(self._periods_of(day))):
                    if moment <= begin:
                        continue
                    finish = min(finish, moment)
                    if finish - remaining >= begin:
                        return (finish - remaining).astimezone(UTC)
                    remaining -= finish - begin
            moment = datetime.combine(day, time(0), LOCAL_TZ)  # the end of the day before
            day -= timedelta(days=1)
        raise ValueError("clock too long")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``days`` full working days of working time after ``start``."""
        return self.add_working_minutes(start, days * self.minutes_per_day)

    def working_minutes_between(self, start: datetime, end: datetime) -> int:
        """Working minutes in [start, end); negative when end is before start."""
        if end < start:
            return -self.working_minutes_between(end, start)
        a, b = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
        total = timedelta()
        day = a.date()
        while day <= b.date():
            if self.is_workday(day):
                for begin, finish in self._periods_of(day):
                    lo, hi = max(begin, a), min(finish, b)
                    if hi > lo:
                        total += hi - lo
            day += timedelta(days=1)
        return int(total.total_seconds() // 60)


FIRST_PACKAGE_YEAR = 2004  # the first year chinese-calendar knows


def package_days(year: int) -> list[tuple[date, bool, str]] | None:
    """Every day of ``year`` from the ``chinese-calendar`` package as (day, is working day, note).

    The note names the holiday of a day off, or the holiday a 调休 make-up working day belongs to.
    None when the package lacks the year (it raises ``NotImplementedError`` for years not yet published).
    """
    import chinese_calendar

    days: list[tuple[date, bool, str]] = []
    day = date(year, 1, 1)
    try:
        while day.year == year:
            is_workday = bool(chinese_calendar.is_workday(day))
            is_holiday, name = chinese_calendar.get_holiday_detail(day)
            note = ""
            if name and is_holiday:
                note = str(name)
            elif name and is_workday and day.weekday() >= 5:
                note = f"{name} (make-up working day)"
            days.append((day, is_workday, note))
            day += timedelta(days=1)
    except NotImplementedError:
        return None
    return days


def package_year(year: int) -> dict[date, bool] | None:
    """Every day of ``year`` from the ``chinese-calendar`` package; None when the package lacks the year."""
    days = package_days(year)
    return None if days is None else {day: is_workday for day, is_workday, _note in days}


def package_years() -> list[int]:
    """The years the installed ``chinese-calendar`` knows, from 2004 to its last published year."""
    years: list[int] = []
    year = FIRST_PACKAGE_YEAR
    while package_year_known(year):
        years.append(year)
        year += 1
    return years


def package_year_known(year: int) -> bool:
    import chinese_calendar

    if year < FIRST_PACKAGE_YEAR:
        return False
    try:
        chinese_calendar.is_workday(date(year, 12, 31))
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True
