"""回访 (issue 11, point 1): the follow-up queue, the calls, their separation of duties, and what they do to
the request and the figures.

The calendar of 2026 is loaded (chinese-calendar); working hours 09:00-12:00 and 13:30-17:30.  A request
resolved at 10:00 on Tuesday 10 March 2026 is due for its call two working days later, at 10:00 on Thursday
12 March (``FOLLOWUP_AFTER_WORKING_DAYS`` = 2, the default).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from hotline.auth.models import Role
from hotline.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.followup import queries as queue
from hotline.followup import services as followup
from hotline.followup.models import FollowupCall
from hotline.sla import services as sla
from hotline.stats import queries as stats
from hotline.stats.queries import StatsFilter
from hotline.tickets import services as tickets
from hotline.tickets.models import (
    EventKind,
    FollowupOutcome,
    Rating,
    RatingScore,
    RatingSource,
    Ticket,
    TicketEvent,
    TicketState,
)
from hotline.timeutil import LOCAL_TZ
from tests import factories
from tests.factories import World

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai: the resolution
DUE = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)  # Thursday 10:00: two working days later
LATER = DUE + timedelta(hours=1)


@pytest.fixture(autouse=True)
def english(app: Flask) -> Iterator[None]:
    with force_locale("en"):
        yield


@pytest.fixture(autouse=True)
def year_2026(app: Flask) -> Iterator[None]:
    sla.sync_calendar_from_package(T0, years=[2026])
    db.session.commit()
    yield


@pytest.fixture
def resolved(world: World) -> Ticket:
    return world.resolved(T0)


def count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def kinds(ticket: Ticket) -> list[EventKind]:
    return list(
        db.session.scalars(
            select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    )


def last_event(ticket: Ticket) -> TicketEvent:
    event = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id.desc())
    ).first()
    assert event is not None
    return event


def unanswered(world: World, ticket: Ticket, now: datetime = LATER, note: str = "") -> Ticket:
    return followup.record_unanswered_call(ticket.id, world.manager, "", note, now)


# --------------------------------------------------------------------------- the queue


def test_the_queue_holds_resolved_requests_unrated_two_working_days_after_the_answer(world: World):
    early = world.resolved(T0)
    late = world.resolved(T0 + timedelta(hours=3))  # 13:00 (lunch): counts from 13:30
    rated = world.resolved(T0)
    tickets.rate(rated.id, world.contact, "satisfied", "", T0 + timedelta(hours=1))

    def queued(now: datetime) -> list[str]:
        return [t.number for t in db.session.scalars(queue.queue_query(now))]

    assert queued(DUE - timedelta(minutes=1)) == []
    assert queue.waiting_count(DUE - timedelta(minutes=1)) == 2
    assert queued(DUE) == [early.number]
    assert queue.waiting_count(DUE) == 1
    # Thursday 13:30 is two working days after Tuesday 12:00 … 13:30: the lunch break is not working time
    assert queued(datetime(2026, 3, 12, 5, 30, tzinfo=UTC)) == [early.number, late.number]


def test_a_weekend_is_not_counted(world: World):
    friday = datetime(2026, 3, 13, 2, 0, tzinfo=UTC)  # Friday 10:00
    ticket = world.resolved(friday)
    monday_late = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)  # Monday 17:00: one working day only
    assert followup.is_due(ticket, monday_late) is False
    assert followup.is_due(ticket, datetime(2026, 3, 17, 2, 0, tzinfo=UTC)) is True  # Tuesday 10:00


def test_the_setting_applies_to_requests_resolved_after_it(app: Flask, world: World, resolved: Ticket):
    app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 1
    try:
        sooner = world.resolved(T0)
    finally:
        app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 2
    assert sooner.rating_due_at == T0 + timedelta(days=1)  # Wednesday 10:00: one working day
    assert followup.is_due(sooner, T0 + timedelta(days=1)) is True
    assert followup.is_due(resolved, T0 + timedelta(days=1)) is False
    assert resolved.rating_due_at == DUE


def test_without_the_calendar_the_time_to_rate_online_is_the_rating_windows_days(world: World):
    after = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)  # 2027: not in this calendar
    ticket = world.resolved(after)
    assert ticket.rating_due_at == after + timedelta(days=7)  # RATING_WINDOW_DAYS, never a guess
    assert followup.is_due(ticket, after + timedelta(days=6)) is False


def test_off_means_no_calls_and_the_window_closes_them(app: Flask, world: World, resolved: Ticket):
    app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 0
    try:
        later = world.resolved(T0)
        assert later.rating_due_at == T0 + timedelta(days=7)
        assert followup.may_call(resolved, world.manager) is False
        with pytest.raises(InvalidTransition, match="turned off"):
            world.followed_up(resolved, now=LATER)
        # the window's sweep closes both: the one resolved before, whose time ran out on Thursday, too
        assert tickets.close_unrated(T0 + timedelta(days=7, seconds=1)) == 2
    finally:
        app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 2
    assert count(FollowupCall) == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FOLLOWUP_AFTER_WORKING_DAYS", -1),
        ("FOLLOWUP_ATTEMPTS", 0),
        ("FOLLOWUP_RETRY_MINUTES", "2"),
        ("FOLLOWUP_STALE_WORKING_DAYS", 0),
    ],
)
def test_a_setting_out_of_its_range_stops_the_start(name: str, value: object):
    from hotline.followup import check_settings

    settings = {
        "FOLLOWUP_AFTER_WORKING_DAYS": 2,
        "FOLLOWUP_ATTEMPTS": 3,
        "FOLLOWUP_RETRY_MINUTES": 120,
        "FOLLOWUP_STALE_WORKING_DAYS": 3,
    }
    check_settings(settings)
    with pytest.raises(RuntimeError, match=name):
        check_settings({**settings, name: value})


def test_a_call_before_the_enterprise_had_its_time_is_refused(world: World, resolved: Ticket):
    with pytest.raises(InvalidTransition, match="until 2026-03-12 10:00"):
        world.followed_up(resolved, now=DUE - timedelta(minutes=1))
    assert resolved.state == TicketState.RESOLVED
    assert count(FollowupCall) == 0 and count(Rating) == 0


def test_the_enterprise_may_still_rate_online_while_in_the_queue(world: World, resolved: Ticket):
    tickets.rate(resolved.id, world.contact, "satisfied", "", LATER)
    assert resolved.state == TicketState.CLOSED
    assert resolved.rating_source == RatingSource.ENTERPRISE
    assert [t.id for t in db.session.scalars(queue.queue_query(LATER))] == []


# --------------------------------------------------------------------------- a call that reached someone


def test_a_reached_call_is_the_rating_with_its_provenance(world: World, resolved: Ticket):
    world.followed_up(resolved, "basically_satisfied", LATER, contact="王经理（行政）")

    assert resolved.state == TicketState.CLOSED
    assert resolved.closed_at == LATER
    [rating] = db.session.scalars(select(Rating).where(Rating.ticket_id == resolved.id))
    assert (rating.score, rating.source, rating.rated_by_id, rating.created_at) == (
        RatingScore.BASICALLY_SATISFIED,
        RatingSource.FOLLOWUP_CALL,
        world.manager.id,
        LATER,
    )
    [call] = db.session.scalars(select(FollowupCall))
    assert (call.attempt, call.reached, call.contact, call.outcome, call.score) == (
        1,
        True,
        "王经理（行政）",
        FollowupOutcome.SOLVED,
        RatingScore.BASICALLY_SATISFIED,
    )
    assert (call.called_at, call.recorded_at, call.caller_id, call.rating_id) == (
        LATER,
        LATER,
        world.manager.id,
        rating.id,
    )
    assert kinds(resolved)[-2:] == [EventKind.FOLLOWUP_CALLED, EventKind.RATED]
    rated = last_event(resolved)
    assert rated.payload["via"] == "followup_call" and rated.payload["score"] == "basically_satisfied"
    assert (resolved.rating_source, resolved.first_rating_score) == (
        RatingSource.FOLLOWUP_CALL,
        RatingScore.BASICALLY_SATISFIED,
    )


def test_a_dissatisfied_contact_reopens_the_request(world: World, resolved: Ticket):
    world.followed_up(resolved, "dissatisfied", LATER, outcome="unsolved", comment="车位仍未落实")
    assert resolved.state == TicketState.IN_PROGRESS
    assert resolved.reopen_count == 1 and resolved.resolve_due_at is not None
    assert kinds(resolved)[-3:] == [EventKind.FOLLOWUP_CALLED, EventKind.RATED, EventKind.REOPENED]
    assert resolved.rating_source == RatingSource.FOLLOWUP_CALL


@pytest.mark.parametrize(("score", "outcome"), [("dissatisfied", "solved"), ("satisfied", "unsolved")])
def test_dissatisfied_or_unsolved_needs_what_they_said(
    world: World, resolved: Ticket, score: str, outcome: str
):
    with pytest.raises(ValidationFailed) as refused:
        world.followed_up(resolved, score, LATER, outcome=outcome, comment="  ")
    assert set(refused.value.fields) == {"comment"}
    assert resolved.state == TicketState.RESOLVED
    assert count(FollowupCall) == 0 and count(Rating) == 0


def test_every_missing_answer_is_named_at_once_and_nothing_is_written(world: World, resolved: Ticket):
    before = kinds(resolved)
    with pytest.raises(ValidationFailed) as refused:
        followup.record_call(resolved.id, world.manager, "", " ", "maybe", "great", "", LATER)
    assert set(refused.value.fields) == {"contact", "outcome", "score"}
    assert kinds(resolved) == before
    assert count(FollowupCall) == 0


# --------------------------------------------------------------------------- separation of duties


def test_a_manager_who_resolved_the_request_may_not_call(world: World):
    ticket = world.in_progress(T0)
    tickets.resolve(ticket.id, world.manager, "已协调。", T0)
    with pytest.raises(Forbidden, match="another manager"):
        world.followed_up(ticket, now=LATER)
    assert followup.may_call(ticket, world.manager) is False
    other = factories.user(Role.MANAGER)
    world.followed_up(ticket, now=LATER, caller=other)
    assert ticket.state == TicketState.CLOSED


def test_a_manager_who_only_replied_may_not_call_either(world: World):
    ticket = world.in_progress(T0)
    tickets.reply(ticket.id, world.manager, "正在协调。", T0)
    tickets.resolve(ticket.id, world.liaison, "已协调。", T0)
    with pytest.raises(Forbidden):
        followup.record_unanswered_call(ticket.id, world.manager, "", "", LATER)
    assert count(FollowupCall) == 0


def test_dispatching_is_not_handling(world: World, resolved: Ticket):
    # world.manager assigned the request to the liaison: that is dispatch, not the work the call checks
    assert followup.handled(resolved, world.manager) is False
    assert followup.handled(resolved, world.liaison) is True
    assert followup.handled_among([resolved], world.manager) == set()


def test_liaisons_and_enterprises_record_no_calls(world: World, resolved: Ticket):
    # those who may see the request are refused; the others do not learn it exists
    for user, refusal in (
        (world.liaison, Forbidden),
        (world.contact, Forbidden),
        (world.other_liaison, NotFound),
        (world.department_user, NotFound),
    ):
        with pytest.raises(refusal):
            followup.record_call(resolved.id, user, "", "王经理", "solved", "satisfied", "", LATER)


def test_staff_can_no_longer_rate_on_the_enterprises_behalf(world: World, resolved: Ticket):
    with pytest.raises(Forbidden):
        tickets.rate(resolved.id, world.manager, "satisfied", "电话回访：满意", LATER)
    assert count(Rating) == 0


# --------------------------------------------------------------------------- unanswered calls


def test_three_unanswered_calls_close_the_request_unrated_with_every_attempt_on_its_timeline(
    world: World, resolved: Ticket
):
    unanswered(world, resolved, LATER, note="无人接听")
    assert resolved.state == TicketState.RESOLVED
    assert [t.id for t in db.session.scalars(queue.queue_query(LATER))] == [resolved.id]
    assert queue.attempts_of([resolved.id])[resolved.id].count == 1
    unanswered(world, resolved, LATER + timedelta(hours=4))
    assert resolved.state == TicketState.RESOLVED
    unanswered(world, resolved, LATER + timedelta(days=1))

    assert resolved.state == TicketState.CLOSED
    assert resolved.rating_score is None
    calls = followup.calls_of(resolved.id)
    assert [(c.attempt, c.reached) for c in calls] == [(1, False), (2, False), (3, False)]
    assert kinds(resolved)[-4:] == [EventKind.FOLLOWUP_CALLED] * 3 + [EventKind.CLOSED]
    closed = last_event(resolved)
    assert closed.payload == {"unrated": True, "followup_attempts": 3}
    first = db.session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == resolved.id, TicketEvent.kind == EventKind.FOLLOWUP_CALLED)
        .order_by(TicketEvent.id)
    ).first()
    assert first is not None and first.payload["note"] == "无人接听" and first.public is True
    with pytest.raises(InvalidTransition):
        unanswered(world, resolved, LATER + timedelta(days=2))
    assert count(FollowupCall) == 3


def test_an_answered_call_after_unanswered_ones_counts_its_attempt(world: World, resolved: Ticket):
    unanswered(world, resolved)
    world.followed_up(resolved, "satisfied", LATER + timedelta(hours=4))
    assert [(c.attempt, c.reached) for c in followup.calls_of(resolved.id)] == [(1, False), (2, True)]


# --------------------------------------------------------------------------- the time of the call


def test_attempts_are_spaced_by_the_retry_minutes(world: World, resolved: Ticket):
    unanswered(world, resolved, LATER)  # Thursday 11:00
    with pytest.raises(ValidationFailed, match="2026-03-12 11:00") as refused:
        unanswered(world, resolved, datetime(2026, 3, 12, 5, 0, tzinfo=UTC))  # 13:00: 60 working minutes on
    assert set(refused.value.fields) == {"called_at"}
    with pytest.raises(ValidationFailed):  # nor backdated before it
        followup.record_unanswered_call(resolved.id, world.manager, "2026-03-12 10:30", "", LATER)
    unanswered(world, resolved, datetime(2026, 3, 12, 6, 30, tzinfo=UTC))  # 14:30: 120 working minutes
    assert queue.attempts_of([resolved.id])[resolved.id].count == 2


def test_the_call_time_is_read_as_shanghai_time_or_with_its_offset(world: World, resolved: Ticket):
    assert followup.call_time("2026-03-12 11:05", resolved, LATER + timedelta(hours=1)) == datetime(
        2026, 3, 12, 11, 5, tzinfo=LOCAL_TZ
    )
    assert followup.call_time("2026-03-12T03:05:00+00:00", resolved, LATER + timedelta(hours=1)) == datetime(
        2026, 3, 12, 3, 5, tzinfo=UTC
    )
    assert followup.call_time("", resolved, LATER) == LATER


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-03-12 25:00",
        "2026-03-13 10:00",  # in the future (LATER is Thursday 11:00)
        "2026-03-09 10:00",  # before the resolution
        "2026-03-12 09:59",  # before the enterprise's time to rate online ran out
        "2026-03-12",  # a day is not a time
        "2026-W11-4 10:00",
        "2026-03-12\x0010:00",
        "9" * 400,
        "0001-01-01T00:00:00+14:00",
    ],
)
def test_an_unusable_call_time_is_refused_on_its_field(world: World, resolved: Ticket, value: str):
    with pytest.raises(ValidationFailed) as refused:
        followup.record_call(resolved.id, world.manager, value, "王经理", "solved", "satisfied", "", LATER)
    assert set(refused.value.fields) == {"called_at"}
    assert count(FollowupCall) == 0


# --------------------------------------------------------------------------- the figures and the sweep


def test_the_figures_count_a_calls_rating_as_rated_by_followup(world: World):
    online = world.resolved(T0)
    tickets.rate(online.id, world.contact, "satisfied", "", T0 + timedelta(hours=1))
    called = world.resolved(T0)
    world.followed_up(called, "basically_satisfied", LATER)
    gave_up = world.resolved(T0)
    for hours in (0, 4, 24):
        unanswered(world, gave_up, LATER + timedelta(hours=hours))
    db.session.flush()

    figures = stats.summary(
        StatsFilter(start=T0.date(), end=T0.date() + timedelta(days=1)), LATER + timedelta(days=1)
    )
    assert (figures.resolved, figures.rated, figures.unrated) == (3, 2, 1)
    assert (figures.rated_by_enterprise, figures.rated_by_followup) == (1, 1)
    assert figures.satisfaction_rate == 1.0


def test_the_rating_window_sweep_leaves_unrated_requests_to_the_calls(app: Flask, world: World):
    from hotline.tickets.tasks import close_unrated_tickets

    ticket = world.resolved(datetime.now(UTC) - timedelta(days=30))
    db.session.commit()
    assert close_unrated_tickets.run() == 0
    assert db.session.get(Ticket, ticket.id).state == TicketState.RESOLVED  # type: ignore[union-attr]
    app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 0  # the follow-up turned off: the window closes them
    try:
        assert close_unrated_tickets.run() == 1
    finally:
        app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 2


# --------------------------------------------------------------------------- append-only


def test_calls_cannot_be_changed_or_deleted_in_the_database(world: World, resolved: Ticket):
    unanswered(world, resolved)
    db.session.commit()
    for statement in ("UPDATE followup_calls SET reached = 1", "DELETE FROM followup_calls"):
        with (
            pytest.raises(IntegrityError, match="followup_calls is append-only"),
            db.session.begin_nested(),
        ):
            db.session.execute(text(statement))
    assert count(FollowupCall) == 1


def test_a_request_reopened_by_a_call_and_resolved_again_is_followed_up_afresh(
    world: World, resolved: Ticket
):
    unanswered(world, resolved, LATER)
    unanswered(world, resolved, LATER + timedelta(hours=4))
    world.followed_up(
        resolved, "dissatisfied", LATER + timedelta(days=1), outcome="unsolved", comment="仍未落实"
    )
    again = LATER + timedelta(days=1, hours=2)
    tickets.resolve(resolved.id, world.liaison, "已再次协调。", again)
    assert followup.attempts(resolved.id) == 0
    later = again + timedelta(days=4)
    assert queue.attempts_of([resolved.id])[resolved.id].count == 0
    unanswered(world, resolved, later)
    assert resolved.state == TicketState.RESOLVED  # the first call of the new round, not the fourth
    assert [c.attempt for c in followup.calls_of(resolved.id)] == [1, 2, 3, 1]
