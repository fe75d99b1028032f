"""Working time (DESIGN §5): working days against an independent oracle, and clock arithmetic.

The oracle is the ``holidays`` package (``holidays.China``): a day is a working day when it is a weekday that
is not a holiday, or a weekend day listed in ``weekend_workdays`` (the 调休 make-up days).  It agrees with
``chinese-calendar`` on every day of 2010-2026; for 2027 it guesses holidays with no make-up days, so it is
an oracle for the past only.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.sla.worktime import (
    DEFAULT_HOURS,
    LOCAL_TZ,
    CalendarMissing,
    HoursError,
    WorkCalendar,
    format_hours,
    package_days,
    package_year,
    package_years,
    parse_hours,
)

FIRST, LAST = 2010, 2026
PROPERTY = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@functools.cache
def oracle() -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=range(FIRST - 1, LAST + 1))


def oracle_is_workday(day: date) -> bool:
    cn = oracle()
    return (day.weekday() < 5 and day not in cn) or day in cn.weekend_workdays


@functools.cache
def package_calendar() -> WorkCalendar:
    """The calendar the application loads, straight from chinese-calendar, for 2009-2026."""
    days: dict[date, bool] = {}
    for year in range(FIRST - 1, LAST + 1):
        known = package_year(year)
        assert known is not None
        days.update(known)
    return WorkCalendar(workdays=days, known_years=frozenset(range(FIRST - 1, LAST + 1)))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


# --------------------------------------------------------------------------- working days


def test_every_day_of_2010_to_2026_agrees_with_the_holidays_oracle():
    calendar = package_calendar()
    day, disagreements = date(FIRST, 1, 1), []
    while day.year <= LAST:
        if calendar.is_workday(day) != oracle_is_workday(day):
            disagreements.append(day)
        day += timedelta(days=1)
    assert disagreements == []


def test_the_oracle_knows_make_up_days_as_weekend_workdays():
    """What the oracle exposes: 调休 days are weekend days in ``weekend_workdays`` (not in the holidays)."""
    cn = oracle()
    make_up_2026 = sorted(d for d in cn.weekend_workdays if d.year == 2026)
    assert make_up_2026 == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    assert all(d.weekday() >= 5 and d not in cn for d in make_up_2026)
    assert all(cn.is_working_day(d) for d in make_up_2026)


@PROPERTY
@given(st.dates(min_value=date(FIRST, 1, 1), max_value=date(LAST, 12, 31)))
def test_a_day_is_working_iff_weekday_and_not_holiday_or_a_make_up_day(day):
    cn = oracle()
    expected = (day.weekday() < 5 and day not in cn) or day in cn.weekend_workdays
    assert package_calendar().is_workday(day) is expected
    assert cn.is_working_day(day) is expected


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        (date(2026, 1, 1), False, "New Year's Day"),
        (date(2026, 1, 2), False, "New Year holiday (Friday)"),
        (date(2026, 1, 4), True, "Sunday made up for the New Year holiday"),
        (date(2026, 2, 14), True, "Saturday made up for the Spring Festival"),
        (date(2026, 2, 15), False, "Spring Festival holiday begins (Sunday)"),
        (date(2026, 2, 17), False, "Spring Festival"),
        (date(2026, 2, 23), False, "Spring Festival holiday ends (Monday)"),
        (date(2026, 2, 24), True, "first working day after the Spring Festival"),
        (date(2026, 2, 28), True, "Saturday made up for the Spring Festival"),
        (date(2026, 5, 5), False, "Labour Day holiday (Tuesday)"),
        (date(2026, 5, 9), True, "Saturday made up for Labour Day"),
        (date(2026, 9, 20), True, "Sunday made up for National Day"),
        (date(2026, 10, 1), False, "National Day"),
        (date(2026, 10, 7), False, "National Day holiday ends (Wednesday)"),
        (date(2026, 10, 8), True, "back to work on Thursday"),
        (date(2026, 10, 10), True, "Saturday made up for National Day"),
        (date(2026, 10, 11), False, "an ordinary Sunday"),
    ],
)
def test_2026_holidays_and_make_up_days_by_date(day, working, why):
    assert package_calendar().is_workday(day) is working, why


def test_package_notes_name_the_holiday_and_the_make_up_day():
    days = {day: (working, note) for day, working, note in package_days(2026) or []}
    assert days[date(2026, 2, 17)] == (False, "Spring Festival")
    assert days[date(2026, 2, 14)] == (True, "Spring Festival (make-up working day)")
    assert days[date(2026, 3, 10)] == (True, "")


def test_the_package_years_run_from_2004_without_a_gap():
    years = package_years()
    assert years[0] == 2004
    assert years == list(range(2004, years[-1] + 1))
    assert years[-1] >= 2026
    assert package_year(years[-1] + 1) is None


# --------------------------------------------------------------------------- no fallback for unknown years


def test_a_year_the_calendar_does_not_know_raises_and_never_falls_back_to_monday_to_friday():
    calendar = WorkCalendar(workdays=package_year(2026) or {}, known_years=frozenset({2026}))
    with pytest.raises(CalendarMissing) as missing:
        calendar.is_workday(date(2027, 1, 4))  # a Monday
    assert missing.value.year == 2027
    with pytest.raises(CalendarMissing):
        calendar.add_working_days(local(2026, 12, 30, 10, 0), 5)
    with pytest.raises(CalendarMissing):
        calendar.working_minutes_between(local(2026, 12, 30, 10, 0), local(2027, 1, 5, 10, 0))
    # Within the known year it still answers.
    assert calendar.add_working_minutes(local(2026, 12, 30, 10, 0), 60) == local(2026, 12, 30, 11, 0)


def test_counting_back_into_a_year_the_calendar_does_not_know_raises():
    calendar = WorkCalendar(workdays=package_year(2026) or {}, known_years=frozenset({2026}))
    with pytest.raises(CalendarMissing) as missing:
        calendar.subtract_working_minutes(local(2026, 1, 5, 10, 0), 3 * 420)  # back past New Year
    assert missing.value.year == 2025
    with pytest.raises(CalendarMissing):
        # New Year's Day is a holiday: the last working moment before it is in 2025.
        calendar.subtract_working_minutes(local(2026, 1, 1, 12, 0), 0)
    assert calendar.subtract_working_minutes(local(2026, 1, 5, 10, 0), 60) == local(2026, 1, 5, 9, 0)


# --------------------------------------------------------------------------- clock arithmetic, by example


def test_lunch_break_is_not_working_time():
    calendar = package_calendar()
    assert calendar.add_working_minutes(local(2026, 3, 10, 11, 50), 30) == local(2026, 3, 10, 13, 50)
    assert calendar.working_minutes_between(local(2026, 3, 10, 11, 50), local(2026, 3, 10, 13, 50)) == 30


def test_a_request_filed_at_23_00_before_a_holiday_counts_from_the_next_working_morning():
    calendar = package_calendar()
    filed = local(2026, 9, 30, 23, 0)  # the evening before the National Day week
    # Acknowledge within 2 working hours: from 09:00 on Thursday 8 October.
    assert calendar.add_working_minutes(filed, 120) == local(2026, 10, 8, 11, 0)
    # A resolve clock of 5 working days: 8, 9, 10 (the make-up Saturday), 12 and 13 October.
    assert calendar.add_working_days(filed, 5) == local(2026, 10, 13, 17, 30)
    # Zero minutes moves the moment to the next working moment.
    assert calendar.add_working_minutes(filed, 0) == local(2026, 10, 8, 9, 0)


def test_the_spring_festival_make_up_saturday_is_counted():
    calendar = package_calendar()
    friday_evening = local(2026, 2, 13, 17, 0)
    # 30 minutes left on Friday, then the make-up Saturday 14 February.
    assert calendar.add_working_minutes(friday_evening, 90) == local(2026, 2, 14, 10, 0)
    # Across the holiday: Saturday 14th, then nothing until Tuesday 24th.
    assert calendar.add_working_days(local(2026, 2, 14, 9, 0), 2) == local(2026, 2, 24, 17, 30)


def test_counting_back_skips_the_lunch_break_the_holidays_and_keeps_the_make_up_saturday():
    calendar = package_calendar()
    assert calendar.subtract_working_minutes(local(2026, 3, 10, 13, 50), 30) == local(2026, 3, 10, 11, 50)
    # Back from the first morning after the National Day week into the last afternoon before it.
    assert calendar.subtract_working_minutes(local(2026, 10, 8, 10, 0), 120) == local(2026, 9, 30, 16, 30)
    # Back across the Spring Festival to the make-up Saturday 14 February.
    assert calendar.subtract_working_minutes(local(2026, 2, 24, 10, 0), 120) == local(2026, 2, 14, 16, 30)
    due = calendar.subtract_working_minutes(local(2026, 3, 10, 10, 0), 60)
    assert due.tzinfo == UTC
    assert due == datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


def test_counting_back_no_minutes_gives_the_last_working_moment():
    calendar = package_calendar()
    in_the_morning = local(2026, 3, 10, 10, 15)
    assert calendar.subtract_working_minutes(in_the_morning, 0) == in_the_morning
    assert calendar.subtract_working_minutes(local(2026, 3, 10, 12, 45), 0) == local(2026, 3, 10, 12, 0)
    assert calendar.subtract_working_minutes(local(2026, 3, 10, 8, 0), 0) == local(2026, 3, 9, 17, 30)
    # In the middle of the National Day week: the close of the last working day before it.
    assert calendar.subtract_working_minutes(local(2026, 10, 5, 12, 0), 0) == local(2026, 9, 30, 17, 30)
    with pytest.raises(ValueError, match="negative"):
        calendar.subtract_working_minutes(in_the_morning, -1)


def test_due_times_are_returned_in_utc():
    due = package_calendar().add_working_minutes(local(2026, 3, 10, 10, 0), 60)
    assert due.tzinfo == UTC
    assert due == datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


def test_custom_working_hours():
    calendar = WorkCalendar(
        workdays=package_year(2026) or {},
        known_years=frozenset({2026}),
        hours=parse_hours("08:30-12:00, 14:00-18:00"),
    )
    assert calendar.minutes_per_day == 450
    assert calendar.add_working_minutes(local(2026, 3, 10, 11, 30), 60) == local(2026, 3, 10, 14, 30)


# --------------------------------------------------------------------------- clock arithmetic, properties


def oracle_working_minutes(start: datetime, end: datetime) -> int:
    """Working minutes in [start, end), minute by minute, from the oracle's days and the default hours."""
    count = 0
    moment = start.astimezone(LOCAL_TZ)
    end = end.astimezone(LOCAL_TZ)
    while moment < end:
        if oracle_is_workday(moment.date()) and is_working_minute(moment.time()):
            count += 1
        moment += timedelta(minutes=1)
    return count


def is_working_minute(t: time) -> bool:
    return any(p.start <= t < p.end for p in DEFAULT_HOURS)


starts = st.builds(
    lambda day, minute: datetime.combine(day, time(0), LOCAL_TZ) + timedelta(minutes=minute),
    st.dates(min_value=date(FIRST, 1, 1), max_value=date(LAST, 11, 30)),
    st.integers(min_value=0, max_value=24 * 60 - 1),
)


@PROPERTY
@given(starts, st.integers(min_value=0, max_value=3 * 420))
def test_a_due_time_is_the_first_moment_with_that_much_oracle_working_time(start, minutes):
    due = package_calendar().add_working_minutes(start, minutes)
    assert oracle_working_minutes(start, due) == minutes
    if minutes:
        # The last minute counted is working time: no earlier moment has as much.
        last = (due - timedelta(minutes=1)).astimezone(LOCAL_TZ)
        assert oracle_is_workday(last.date()) and is_working_minute(last.time())


@PROPERTY
@given(starts, st.integers(min_value=0, max_value=20 * 420))
def test_working_minutes_between_inverts_add_working_minutes(start, minutes):
    calendar = package_calendar()
    due = calendar.add_working_minutes(start, minutes)
    assert calendar.working_minutes_between(start, due) == minutes
    assert calendar.working_minutes_between(due, start) == -minutes


@PROPERTY
@given(starts, st.integers(min_value=0, max_value=10), st.integers(min_value=1, max_value=10))
def test_adding_working_days_in_two_steps_equals_adding_them_at_once(start, first, second):
    """What lets an extension move the deadline from the current due and a recompute agree with it."""
    calendar = package_calendar()
    once = calendar.add_working_days(start, first + second)
    assert calendar.add_working_days(calendar.add_working_days(start, first), second) == once


@PROPERTY
@given(starts, st.integers(min_value=0, max_value=3 * 420))
def test_counting_back_starts_at_the_latest_moment_with_that_much_oracle_working_time(end, minutes):
    start = package_calendar().subtract_working_minutes(end, minutes)
    assert start <= end
    assert oracle_working_minutes(start, end) == minutes
    if minutes:
        # The first minute counted is working time: no later moment has as much.
        first = start.astimezone(LOCAL_TZ)
        assert oracle_is_workday(first.date()) and is_working_minute(first.time())


@PROPERTY
@given(starts, st.integers(min_value=1, max_value=20 * 420))
def test_counting_back_from_a_due_time_finds_where_the_clock_started(start, minutes):
    calendar = package_calendar()
    due = calendar.add_working_minutes(start, minutes)
    assert calendar.subtract_working_minutes(due, minutes) == calendar.add_working_minutes(start, 0)
    earlier = calendar.subtract_working_minutes(start, minutes)
    assert calendar.working_minutes_between(earlier, start) == minutes


# --------------------------------------------------------------------------- working hours text


def test_parse_and_format_hours_round_trip():
    periods = parse_hours(" 09:00-12:00，13:30-17:30 ")
    assert periods == DEFAULT_HOURS
    assert format_hours(periods) == "09:00-12:00,13:30-17:30"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (" , ", "empty"),
        ("nine to five", "format"),
        ("09:00-12:00-13:00", "format"),
        ("12:00-09:00", "order"),
        ("09:00-09:00", "order"),
        ("09:00-12:00,11:00-17:00", "overlap"),
        ("09:00:30-12:00", "format"),
    ],
)
def test_bad_working_hours_are_refused_with_a_reason(text, reason):
    with pytest.raises(HoursError) as error:
        parse_hours(text)
    assert error.value.reason == reason
