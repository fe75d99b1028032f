"""The calendar in the database: loading from chinese-calendar, managers' edits, missing years, recompute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, update

from hotline.auth.models import Role
from hotline.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.notifications.models import Notification, NotificationKind
from hotline.sla import calendar as calendar_db
from hotline.sla import services as sla
from hotline.sla.models import CalendarDay, DaySource
from hotline.sla.worktime import LOCAL_TZ
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, TicketEvent, TicketState, Urgency
from tests import factories

# 10:00 on Tuesday 10 March 2026 in Shanghai.
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


@pytest.fixture
def year_2026(app) -> None:  # type: ignore[no-untyped-def]
    sla.sync_calendar_from_package(T0, years=[2026])
    db.session.commit()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


def day_row(day: date) -> CalendarDay:
    row = db.session.get(CalendarDay, day)
    assert row is not None
    return row


def events(kind: EventKind) -> list[TicketEvent]:
    return list(
        db.session.scalars(select(TicketEvent).where(TicketEvent.kind == kind).order_by(TicketEvent.id))
    )


# --------------------------------------------------------------------------- loading from the package


def test_sync_loads_every_year_the_package_knows_once(app):
    loaded = sla.sync_calendar_from_package(T0)
    assert loaded[0] == 2004 and 2026 in loaded
    assert loaded == list(range(2004, loaded[-1] + 1))
    assert calendar_db.known_years() == set(loaded)
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == sum(
        366 if date(y, 12, 31).timetuple().tm_yday == 366 else 365 for y in loaded
    )
    assert day_row(date(2026, 2, 14)).is_workday is True  # the make-up Saturday
    assert day_row(date(2026, 2, 14)).source == DaySource.PACKAGE
    assert day_row(date(2026, 10, 1)).note == "National Day"
    # A second sync finds nothing to do.
    assert sla.sync_calendar_from_package(T0) == []


def test_a_resync_never_overwrites_a_manager_override(app, world, year_2026):
    sla.set_day(date(2026, 3, 11), False, "Building closed for maintenance", world.manager, T0)
    db.session.commit()
    assert sla.sync_calendar_from_package(T0, years=[2025, 2026]) == [2025]
    row = day_row(date(2026, 3, 11))
    assert (row.is_workday, row.source, row.note) == (
        False,
        DaySource.OVERRIDE,
        "Building closed for maintenance",
    )
    assert row.updated_by_id == world.manager.id


def test_the_cli_loads_the_calendar(app):
    result = app.test_cli_runner().invoke(args=["calendar", "sync"])
    assert result.exit_code == 0, result.output
    assert "loaded years: 2004, 2005" in result.output
    assert calendar_db.year_is_known(2026)
    again = app.test_cli_runner().invoke(args=["calendar", "sync"])
    assert "loaded years: none" in again.output


# --------------------------------------------------------------------------- managers' edits


def test_enter_a_year_the_package_does_not_know_as_monday_to_friday(app, world, year_2026):
    assert sla.enter_year(2027, world.manager, T0) == DaySource.WEEKDAY
    assert day_row(date(2027, 1, 1)).is_workday is True  # a Friday: the manager marks holidays next
    assert day_row(date(2027, 1, 2)).is_workday is False
    assert day_row(date(2027, 1, 4)).source == DaySource.WEEKDAY
    assert (
        db.session.scalar(
            select(func.count()).where(CalendarDay.day.between(date(2027, 1, 1), date(2027, 12, 31)))
        )
        == 365
    )
    sla.set_day(date(2027, 1, 1), False, "New Year's Day", world.manager, T0)
    assert calendar_db.current_calendar().is_workday(date(2027, 1, 1)) is False


def test_entering_a_year_twice_is_refused(app, world, year_2026):
    sla.enter_year("2027", world.manager, T0)
    with pytest.raises(InvalidTransition, match="already has 2027"):
        sla.enter_year(2027, world.manager, T0)
    with pytest.raises(InvalidTransition, match="already has 2026"):
        sla.enter_year(2026, world.manager, T0)


def test_entering_a_year_the_package_knows_loads_the_package(app, world):
    assert sla.enter_year(2025, world.manager, T0) == DaySource.PACKAGE
    assert day_row(date(2025, 1, 26)).is_workday is True  # the Spring Festival make-up Sunday of 2025


@pytest.mark.parametrize("year", ["", "twenty", 1999, 2101])
def test_a_year_out_of_range_is_refused_on_its_field(app, world, year):
    with pytest.raises(ValidationFailed) as error:
        sla.enter_year(year, world.manager, T0)
    assert "year" in error.value.fields


def test_only_managers_edit_the_calendar(app, world, year_2026):
    with pytest.raises(Forbidden):
        sla.enter_year(2027, world.liaison, T0)
    with pytest.raises(Forbidden):
        sla.set_day(date(2026, 3, 11), False, "", world.liaison, T0)
    with pytest.raises(Forbidden):
        sla.set_working_hours("09:00-17:00", world.contact, T0)
    with pytest.raises(Forbidden):
        sla.set_category_clocks(world.category.id, 60, 30, 5, 1, world.liaison, T0)


def test_a_day_of_an_unknown_year_is_refused_with_a_clear_message(app, world, year_2026):
    with pytest.raises(ValidationFailed) as error:
        sla.set_day(date(2027, 3, 1), False, "", world.manager, T0)
    assert error.value.fields == {"day": "The calendar has no 2027 yet: enter the year first."}


def test_set_day_marks_a_make_up_working_day(app, world, year_2026):
    row = sla.set_day(date(2026, 3, 14), True, "Make-up day", world.manager, T0)
    assert (row.is_workday, row.source) == (True, DaySource.OVERRIDE)
    assert calendar_db.current_calendar().is_workday(date(2026, 3, 14)) is True


def test_working_hours_are_validated_and_stored_canonically(app, world, year_2026):
    with pytest.raises(ValidationFailed) as error:
        sla.set_working_hours("09:00-12:00,11:00-17:00", world.manager, T0)
    assert error.value.fields == {"hours": "“11:00-17:00” overlaps the period before it."}
    with pytest.raises(ValidationFailed) as error:
        sla.set_working_hours("", world.manager, T0)
    assert "hours" in error.value.fields
    assert (
        sla.set_working_hours(" 08:30-12:00 , 13:00-17:00 ", world.manager, T0) == "08:30-12:00,13:00-17:00"
    )
    calendar = calendar_db.current_calendar()
    assert calendar.minutes_per_day == 450
    assert calendar.hours[0].start == time(8, 30)


# --------------------------------------------------------------------------- the cache


def test_current_calendar_is_cached_until_the_version_changes(app, world, year_2026):
    first = calendar_db.current_calendar()
    assert calendar_db.current_calendar() is first
    sla.set_day(date(2026, 3, 11), False, "", world.manager, T0)
    second = calendar_db.current_calendar()
    assert second is not first
    assert second.is_workday(date(2026, 3, 11)) is False


def test_a_change_made_by_another_process_is_seen_at_the_next_call(app, year_2026):
    assert calendar_db.current_calendar().is_workday(date(2026, 3, 12)) is True
    # Another process: it writes the rows and a new stamp, and commits; this process holds no notice of it.
    db.session.execute(
        update(CalendarDay).where(CalendarDay.day == date(2026, 3, 12)).values(is_workday=False)
    )
    calendar_db.bump_calendar_version(T0)
    db.session.commit()
    assert calendar_db.current_calendar().is_workday(date(2026, 3, 12)) is False


# --------------------------------------------------------------------------- missing years


def test_missing_years(app):
    june = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
    assert sla.missing_years(june) == [2026]
    sla.sync_calendar_from_package(june, years=[2026])
    assert sla.missing_years(june) == []
    # 31 October 23:59 in Shanghai: next year is not asked for yet; 1 November 00:00 it is.
    assert sla.missing_years(local(2026, 10, 31, 23, 59)) == []
    assert sla.missing_years(local(2026, 11, 1, 0, 0)) == [2027]
    assert sla.missing_years(datetime(2026, 10, 31, 16, 0, tzinfo=UTC)) == [2027]  # the same moment in UTC
    sla.enter_year(2027, factories.user(Role.MANAGER), june)
    assert sla.missing_years(local(2026, 12, 31, 12, 0)) == []
    assert sla.missing_years(local(2027, 11, 2, 12, 0)) == [2028]


def test_managers_are_told_once_per_missing_year(app, world, year_2026):
    november = local(2026, 11, 2, 9, 0)
    second_manager = factories.user(Role.MANAGER)
    assert sla.check_missing_years(november) == [2027]
    assert sla.check_missing_years(november) == [2027]
    db.session.commit()
    rows = db.session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.CALENDAR_MISSING)
    )
    assert sorted((n.user_id, n.params["year"]) for n in rows) == sorted(
        [(world.manager.id, 2027), (second_manager.id, 2027)]
    )
    assert sla.check_missing_years(local(2026, 6, 1, 9, 0)) == []


# --------------------------------------------------------------------------- recompute on change


def test_a_day_made_a_holiday_pushes_the_open_deadlines_later(app, world, year_2026):
    assigned = world.submit(T0)
    tickets.assign(assigned.id, world.manager, world.liaison.username, T0)
    working = world.in_progress(T0)
    db.session.commit()
    # Tuesday 10:00 + 5 working days (420 minutes each): the next Tuesday 10:00.
    assert working.resolve_due_at == local(2026, 3, 17, 10, 0)
    before_ack = assigned.acknowledge_due_at
    assert before_ack == local(2026, 3, 10, 12, 0)

    sla.set_day(date(2026, 3, 12), False, "District closure", world.manager, T0)
    db.session.commit()
    # One working day more for the resolve clock; the acknowledge clock ends before the closure: unchanged.
    assert working.resolve_due_at == local(2026, 3, 18, 10, 0)
    assert assigned.acknowledge_due_at == before_ack
    [event] = events(EventKind.CLOCKS_RECOMPUTED)
    assert event.ticket_id == working.id and event.public is False
    assert event.payload == {
        "clock": "resolve",
        "old_due_at": "2026-03-17T10:00:00+08:00",
        "new_due_at": "2026-03-18T10:00:00+08:00",
        "reason": "calendar",
    }


def test_shorter_working_hours_move_the_acknowledge_deadline(app, world, year_2026):
    ticket = world.submit(T0)
    tickets.assign(ticket.id, world.manager, world.liaison.username, T0)
    assert ticket.acknowledge_due_at == local(2026, 3, 10, 12, 0)
    sla.set_working_hours("09:00-11:00,13:30-17:30", world.manager, T0)
    assert ticket.acknowledge_due_at == local(2026, 3, 10, 14, 30)
    [event] = events(EventKind.CLOCKS_RECOMPUTED)
    assert event.payload["reason"] == "working_hours"


def test_category_clocks_are_validated_and_apply_to_its_open_requests(app, world, year_2026):
    urgent = world.submit(T0, urgency=Urgency.URGENT)
    tickets.assign(urgent.id, world.manager, world.liaison.username, T0)
    assert urgent.acknowledge_due_at == local(2026, 3, 10, 10, 30)
    with pytest.raises(ValidationFailed) as error:
        sla.set_category_clocks(world.category.id, "x", 0, 91, 6, world.manager, T0)
    assert set(error.value.fields) == {"acknowledge_minutes", "acknowledge_minutes_urgent", "resolve_days"}
    with pytest.raises(ValidationFailed) as error:
        sla.set_category_clocks(world.category.id, 60, 90, 5, 6, world.manager, T0)
    assert set(error.value.fields) == {"acknowledge_minutes_urgent", "resolve_days_urgent"}
    with pytest.raises(NotFound):
        sla.set_category_clocks(999_999, 60, 30, 5, 1, world.manager, T0)
    category = sla.set_category_clocks(world.category.id, "240", 60, 10, 2, world.manager, T0)
    assert (category.acknowledge_minutes, category.acknowledge_minutes_urgent) == (240, 60)
    assert (category.resolve_days, category.resolve_days_urgent) == (10, 2)
    assert urgent.acknowledge_due_at == local(2026, 3, 10, 11, 0)
    assert events(EventKind.CLOCKS_RECOMPUTED)[0].payload["reason"] == "category_clocks"


def test_entering_a_missing_year_starts_the_clocks_that_could_not_start(app, world, year_2026):
    late_december = local(2026, 12, 31, 16, 0)
    ticket = world.in_progress(late_december)
    # Both clocks reach into 2027, which nobody has entered: no deadline, and no guess either.
    assert ticket.acknowledge_due_at is None
    assert ticket.resolve_due_at is None
    assert ticket.state == TicketState.IN_PROGRESS  # the lifecycle went on
    sla.enter_year(2027, world.manager, late_december)
    # 90 minutes on 31 December, then 2027 as entered (Monday to Friday): 1, 4, 5 and 6 January, and
    # the last 330 minutes on 7 January.
    assert ticket.resolve_due_at == local(2027, 1, 7, 16, 0)
