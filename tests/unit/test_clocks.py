"""Clocks on requests (DESIGN §5): deadlines per category and urgency, lights, the time left in words."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale

from hotline.extensions import db
from hotline.sla import clocks
from hotline.sla import services as sla
from hotline.sla.clocks import describe_remaining, light
from hotline.sla.models import ClockSchedule
from hotline.sla.worktime import LOCAL_TZ
from hotline.tickets import services as tickets
from hotline.tickets.models import TicketState, Urgency

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


# --------------------------------------------------------------------------- deadlines


def test_assignment_starts_the_acknowledge_clock_in_working_time(app, world, year_2026):
    ticket = world.submit(T0)
    tickets.assign(ticket.id, world.manager, world.liaison.username, local(2026, 3, 10, 16, 30))
    # 2 working hours: one hour on Tuesday, one on Wednesday morning.
    assert ticket.acknowledge_due_at == local(2026, 3, 11, 10, 0)
    schedule = db.session.get(ClockSchedule, ticket.id)
    assert schedule is not None and schedule.clock == "acknowledge"
    assert schedule.due_at == ticket.acknowledge_due_at


def test_urgent_requests_and_categories_have_their_own_limits(app, world, year_2026):
    world.category.acknowledge_minutes_urgent = 45
    world.category.resolve_days_urgent = 2
    ticket = world.submit(T0, urgency=Urgency.URGENT)
    tickets.assign(ticket.id, world.manager, world.liaison.username, T0)
    assert ticket.acknowledge_due_at == local(2026, 3, 10, 10, 45)
    tickets.acknowledge(ticket.id, world.liaison, T0)
    assert ticket.resolve_started_at == T0
    assert ticket.resolve_due_at == local(2026, 3, 12, 10, 0)


def test_acknowledging_starts_the_resolve_clock(app, world, year_2026):
    ticket = world.in_progress(T0)
    assert ticket.resolve_due_at == local(2026, 3, 17, 10, 0)
    assert db.session.get(ClockSchedule, ticket.id).clock == "resolve"  # type: ignore[union-attr]


def test_reopening_starts_a_new_resolve_clock(app, world, year_2026):
    ticket = world.resolved(T0)
    later = local(2026, 3, 12, 15, 0)
    tickets.rate(ticket.id, world.contact, "dissatisfied", "Still no parking.", later)
    assert ticket.state == TicketState.IN_PROGRESS
    assert ticket.resolve_started_at == later
    assert ticket.resolve_due_at == local(2026, 3, 19, 15, 0)


def test_a_missing_year_leaves_the_deadline_empty_and_the_lifecycle_going(app, world, year_2026, caplog):
    new_year_eve = local(2026, 12, 31, 17, 0)
    with caplog.at_level(logging.WARNING, logger="hotline.sla.clocks"):
        ticket = world.in_progress(new_year_eve)
    assert ticket.state == TicketState.IN_PROGRESS
    assert ticket.acknowledge_due_at is None
    assert ticket.resolve_due_at is None
    assert "no working-day calendar for 2027" in caplog.text
    assert light(ticket, new_year_eve) is None
    assert sla.missing_years(new_year_eve) == [2027]


def test_without_any_calendar_nothing_is_guessed(app, world):
    ticket = world.submit(T0)
    tickets.assign(ticket.id, world.manager, world.liaison.username, T0)
    assert ticket.state == TicketState.ASSIGNED
    assert ticket.acknowledge_due_at is None
    assert db.session.get(ClockSchedule, ticket.id) is None


# --------------------------------------------------------------------------- lights


def test_the_light_walks_green_yellow_red(app, world, year_2026):
    ticket = world.in_progress(T0)  # due Tuesday 17 March 10:00, 2100 working minutes
    first = light(ticket, T0)
    assert first is not None
    assert (first.clock, first.colour, first.remaining_minutes, first.fraction_used) == (
        "resolve",
        "green",
        2100,
        0,
    )
    assert first.description == "5.0 working days left"

    # 79 % used: Monday 16 March 10:00 is 1680 minutes in (80 %): one minute before, still green.
    almost = light(ticket, local(2026, 3, 16, 9, 59))
    assert almost is not None and almost.colour == "green"
    yellow = light(ticket, local(2026, 3, 16, 10, 0))
    assert yellow is not None and yellow.colour == "yellow"
    assert yellow.remaining_minutes == 420 and yellow.fraction_used == pytest.approx(0.8)
    assert yellow.description == "1.0 working days left"

    red = light(ticket, local(2026, 3, 17, 14, 0))
    assert red is not None and red.colour == "red"
    assert red.remaining_minutes == -150
    assert red.description == "overdue by 2.5 working hours"
    assert red.due_at == ticket.resolve_due_at


def test_the_light_is_red_at_the_deadline_even_outside_working_hours(app, world, year_2026):
    ticket = world.submit(T0)
    tickets.assign(ticket.id, world.manager, world.liaison.username, local(2026, 3, 10, 15, 30))
    assert ticket.acknowledge_due_at == local(2026, 3, 10, 17, 30)
    evening = light(ticket, local(2026, 3, 10, 18, 0))
    assert evening is not None and evening.clock == "acknowledge"
    # No working time has passed since the deadline, but it has passed.
    assert (evening.colour, evening.remaining_minutes) == ("red", 0)
    assert evening.description == "overdue"
    next_day = light(ticket, local(2026, 3, 11, 9, 30))
    assert next_day is not None and next_day.description == "overdue by 0.5 working hours"


def test_no_light_when_no_clock_runs(app, world, year_2026):
    submitted = world.submit(T0)
    resolved = world.resolved(T0)
    assert light(submitted, T0) is None
    assert light(resolved, T0 + timedelta(days=30)) is None


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (630, "1.5 working days left"),
        (420, "1.0 working days left"),
        (120, "2.0 working hours left"),
        (45, "0.8 working hours left"),
        (0, "0.0 working hours left"),
        (-180, "overdue by 3.0 working hours"),
        (-840, "overdue by 2.0 working days"),
    ],
)
def test_describe_remaining_in_working_terms(app, minutes, text):
    assert describe_remaining(minutes, 420) == text


def test_thresholds_of_a_clock(app, year_2026):
    from hotline.sla.calendar import current_calendar

    limits = clocks.thresholds(local(2026, 3, 10, 10, 0), local(2026, 3, 17, 10, 0), current_calendar())
    assert limits.warning_at == local(2026, 3, 16, 10, 0)
    assert limits.escalation_2_at == local(2026, 3, 18, 10, 0)
    assert limits.next_after(local(2026, 3, 16, 10, 0)) == local(2026, 3, 17, 10, 0)
    assert limits.next_after(local(2026, 3, 20, 10, 0)) is None
