"""The clock sweep: warning at 80 %, overdue (escalation 1), escalation 2 — each raised once, in batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from hotline.extensions import db
from hotline.sla import services as sla
from hotline.sla import sweeps
from hotline.sla import tasks as sla_tasks
from hotline.sla.clocks import light
from hotline.sla.models import AlertLevel, Clock, ClockAlert, ClockSchedule
from hotline.sla.sweeps import Alert, raise_alerts, sweep_clocks
from hotline.sla.worktime import LOCAL_TZ
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket, TicketEvent

# 10:00 on Tuesday 10 March 2026 in Shanghai.  A request acknowledged then is due Tuesday 17 March 10:00:
# warning from Monday 16 March 10:00 (80 % of 2100 working minutes), escalation 2 on Wednesday 18 10:00.
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
ALERT_EVENTS = (EventKind.WARNING, EventKind.OVERDUE, EventKind.ESCALATED)


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


def alert_events(ticket: Ticket) -> list[TicketEvent]:
    return list(
        db.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(ALERT_EVENTS))
            .order_by(TicketEvent.id)
        )
    )


def alert_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(ClockAlert)) or 0)


def test_three_sweeps_at_the_same_moment_raise_each_level_once(app, world, year_2026):
    ticket = world.in_progress(T0)
    db.session.commit()
    late = local(2026, 3, 19, 10, 0)  # well past escalation level 2
    results = []
    for _ in range(3):
        results.append(sweep_clocks(late))
        db.session.commit()
    assert [(r.warning, r.overdue, r.escalation_2) for r in results] == [(1, 1, 1), (0, 0, 0), (0, 0, 0)]
    assert [e.kind for e in alert_events(ticket)] == [
        EventKind.WARNING,
        EventKind.OVERDUE,
        EventKind.ESCALATED,
    ]
    assert alert_count() == 3
    assert ticket.escalation_level == 2
    assert all(e.public is False for e in alert_events(ticket))
    assert alert_events(ticket)[2].payload == {
        "clock": "resolve",
        "level": 2,
        "alert": "escalation_2",
        "due_at": "2026-03-17T10:00:00+08:00",
    }
    # The clock has nothing left to raise: later sweeps do not even look at it.
    schedule = db.session.get(ClockSchedule, ticket.id)
    assert schedule is not None and schedule.next_alert_at is None
    assert sweep_clocks(local(2026, 3, 30, 10, 0)).examined == 0


def test_sweeps_at_increasing_times_walk_green_yellow_red_escalated(app, world, year_2026):
    ticket = world.in_progress(T0)
    db.session.commit()
    steps = [
        (local(2026, 3, 13, 10, 0), "green", (0, 0, 0), 0),
        (local(2026, 3, 16, 9, 59), "green", (0, 0, 0), 0),
        (local(2026, 3, 16, 10, 0), "yellow", (1, 0, 0), 0),
        (local(2026, 3, 16, 16, 0), "yellow", (0, 0, 0), 0),
        (local(2026, 3, 17, 10, 0), "red", (0, 1, 0), 1),
        (local(2026, 3, 17, 20, 0), "red", (0, 0, 0), 1),
        (local(2026, 3, 18, 10, 0), "red", (0, 0, 1), 2),
        (local(2026, 3, 20, 10, 0), "red", (0, 0, 0), 2),
    ]
    for now, colour, raised, level in steps:
        result = sweep_clocks(now)
        db.session.commit()
        shown = light(ticket, now)
        assert shown is not None
        assert (
            shown.colour,
            (result.warning, result.overdue, result.escalation_2),
            ticket.escalation_level,
        ) == (
            colour,
            raised,
            level,
        ), now
    assert [e.created_at for e in alert_events(ticket)] == [
        local(2026, 3, 16, 10, 0),
        local(2026, 3, 17, 10, 0),
        local(2026, 3, 18, 10, 0),
    ]


def test_the_acknowledge_clock_is_swept_too(app, world, year_2026):
    ticket = world.submit(T0)
    tickets.assign(ticket.id, world.manager, world.liaison.username, T0)  # due 12:00
    result = sweep_clocks(local(2026, 3, 10, 11, 40))
    assert (result.warning, result.overdue) == (1, 0)
    result = sweep_clocks(local(2026, 3, 11, 12, 0))  # a working day after the deadline
    assert (result.overdue, result.escalation_2) == (1, 1)
    assert {e.payload["clock"] for e in alert_events(ticket)} == {"acknowledge"}
    # Acknowledging starts the resolve clock with a clean escalation level.
    tickets.acknowledge(ticket.id, world.liaison, local(2026, 3, 11, 12, 30))
    assert ticket.escalation_level == 0
    assert sweep_clocks(local(2026, 3, 11, 13, 0)).raised == 0


def test_a_request_off_the_clock_is_not_swept_and_drops_out(app, world, year_2026):
    ticket = world.in_progress(T0)
    tickets.resolve(ticket.id, world.liaison, "Parking arranged.", local(2026, 3, 11, 10, 0))
    result = sweep_clocks(local(2026, 3, 30, 10, 0))
    assert (result.examined, result.raised) == (1, 0)
    assert db.session.get(ClockSchedule, ticket.id).next_alert_at is None  # type: ignore[union-attr]
    assert sweep_clocks(local(2026, 3, 30, 10, 0)).examined == 0


def test_a_returned_request_waits_and_is_swept_again_when_the_return_is_refused(app, world, year_2026):
    ticket = world.in_progress(T0)
    tickets.return_ticket(ticket.id, world.liaison, "Not a parking matter.", local(2026, 3, 11, 10, 0))
    assert sweep_clocks(local(2026, 3, 17, 11, 0)).raised == 0
    tickets.review_return(ticket.id, world.manager, False, "It is yours.", local(2026, 3, 17, 11, 0))
    result = sweep_clocks(local(2026, 3, 17, 11, 5))
    assert (result.warning, result.overdue) == (1, 1)


def test_an_alert_already_raised_by_another_sweep_is_not_raised_again(app, world, year_2026):
    ticket = world.in_progress(T0)
    due = ticket.resolve_due_at
    assert due is not None
    # What a racing sweep meets: the unique key skips the second insert, and the statement still succeeds.
    overdue = Alert(ticket, Clock.RESOLVE, AlertLevel.OVERDUE, due)
    assert raise_alerts([overdue], T0) == [overdue]
    assert raise_alerts([overdue], T0) == []
    assert ticket.state.value == "in_progress"  # the session is still usable
    result = sweep_clocks(local(2026, 3, 17, 11, 0))
    assert (result.warning, result.overdue) == (1, 0)
    assert [e.kind for e in alert_events(ticket)] == [EventKind.WARNING]
    assert alert_count() == 2


def test_a_sweep_is_bounded(app, world, year_2026):
    for _ in range(3):
        world.in_progress(T0)
    late = local(2026, 3, 17, 11, 0)
    first = sweep_clocks(late, limit=2)
    assert (first.examined, first.overdue) == (2, 2)
    second = sweep_clocks(late, limit=2)
    assert (second.examined, second.overdue) == (1, 1)


def test_a_deadline_whose_next_working_day_is_unknown_still_turns_overdue(app, world, year_2026):
    ticket = world.submit(T0)
    tickets.assign(ticket.id, world.manager, world.liaison.username, local(2026, 12, 31, 14, 0))
    assert ticket.acknowledge_due_at == local(2026, 12, 31, 16, 0)
    result = sweep_clocks(local(2026, 12, 31, 16, 30))
    # Warning and overdue are measured within 2026; escalation 2 would need 2027, which is not entered.
    assert (result.warning, result.overdue, result.escalation_2) == (1, 1, 0)
    assert sweep_clocks(local(2027, 1, 5, 10, 0)).raised == 0
    sla.enter_year(2027, world.manager, local(2027, 1, 5, 10, 0))
    assert sweep_clocks(local(2027, 1, 5, 10, 0)).escalation_2 == 1


def test_a_recompute_does_not_raise_again_what_was_raised_for_the_clock(app, world, year_2026):
    ticket = world.in_progress(T0)
    db.session.commit()
    late = local(2026, 3, 19, 10, 0)
    sweep_clocks(late)
    db.session.commit()
    old_due = ticket.resolve_due_at
    # A closure day within the clock: the deadline moves a day later, and is still long past.
    sla.set_day(local(2026, 3, 12, 0, 0).date(), False, "停电闭馆", world.manager, late)
    db.session.commit()
    assert ticket.resolve_due_at != old_due
    for _ in range(2):
        assert sweep_clocks(late).raised == 0
        db.session.commit()
    assert [e.kind for e in alert_events(ticket)] == [
        EventKind.WARNING,
        EventKind.OVERDUE,
        EventKind.ESCALATED,
    ]
    assert ticket.escalation_level == 2


def test_a_recompute_that_moves_the_deadline_past_now_lets_the_levels_come_again(app, world, year_2026):
    ticket = world.in_progress(T0)
    db.session.commit()
    just_late = local(2026, 3, 17, 10, 30)  # half an hour past the deadline: warning and overdue raised
    sweep_clocks(just_late)
    db.session.commit()
    # The 17th becomes a closure day: the deadline moves to the 18th, no longer passed.
    sla.set_day(local(2026, 3, 17, 0, 0).date(), False, "停电闭馆", world.manager, just_late)
    db.session.commit()
    assert ticket.escalation_level == 0
    assert sweep_clocks(just_late).overdue == 0
    db.session.commit()
    later = local(2026, 3, 18, 11, 0)
    assert sweep_clocks(later).overdue == 1  # overdue again, for the deadline it has now
    db.session.commit()


# --------------------------------------------------------------------------- the task: batch after batch


def overdue_requests(world, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """``count`` requests acknowledged on 10 March, so every level of their resolve clock is long due."""
    ids = [world.in_progress(T0).id for _ in range(count)]
    db.session.commit()
    return ids


def alerts_by_request() -> dict[int, int]:
    rows = db.session.execute(select(ClockAlert.ticket_id, func.count()).group_by(ClockAlert.ticket_id))
    return {ticket_id: n for ticket_id, n in rows}


@pytest.fixture
def batches_of_two(app, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """The sweep task with batches of two clocks, its file lock in a private folder."""
    monkeypatch.setattr(sweeps, "BATCH_SIZE", 2)
    monkeypatch.setitem(app.config, "INSTANCE_DIR", str(tmp_path))


def test_the_task_drains_a_backlog_in_batches_each_committed(app, world, year_2026, batches_of_two):
    ids = overdue_requests(world, 5)

    summary = sla_tasks.sweep_clocks.run()

    assert summary is not None
    assert (summary["batches"], summary["examined"], summary["raised"]) == (3, 5, 15)
    assert summary["out_of_time"] is False
    db.session.rollback()  # only what was committed is left
    assert alerts_by_request() == {ticket_id: 3 for ticket_id in ids}
    assert {db.session.get(Ticket, i).escalation_level for i in ids} == {2}  # type: ignore[union-attr]
    # Idempotent across runs: the next run finds nothing due and raises nothing.
    again = sla_tasks.sweep_clocks.run()
    assert again is not None and (again["batches"], again["raised"]) == (1, 0)
    assert alert_count() == 15


def test_a_failing_batch_keeps_what_the_batches_before_it_committed(
    app, world, year_2026, batches_of_two, monkeypatch
):  # type: ignore[no-untyped-def]
    ids = overdue_requests(world, 5)
    real = sweeps.sweep_clocks
    calls: list[int] = []

    def third_batch_fails(now: datetime, limit: int = 2) -> sweeps.SweepResult:
        calls.append(limit)
        result = real(now, limit)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return result

    monkeypatch.setattr(sweeps, "sweep_clocks", third_batch_fails)
    with pytest.raises(RuntimeError):
        sla_tasks.sweep_clocks.run()
    db.session.rollback()
    assert alerts_by_request() == {ticket_id: 3 for ticket_id in ids[:4]}  # two batches of two

    monkeypatch.setattr(sweeps, "sweep_clocks", real)
    summary = sla_tasks.sweep_clocks.run()  # the next tick takes up the rest, and only the rest
    assert summary is not None and summary["raised"] == 3
    db.session.rollback()
    assert alerts_by_request() == {ticket_id: 3 for ticket_id in ids}
    assert len([e for i in ids for e in alert_events(db.session.get(Ticket, i))]) == 15  # type: ignore[arg-type]


def test_the_task_stops_at_its_time_budget_and_the_next_run_goes_on(
    app, world, year_2026, batches_of_two, monkeypatch
):  # type: ignore[no-untyped-def]
    from hotline import celery_app

    overdue_requests(world, 5)
    seconds = iter(range(0, 10_000, 150))  # every look at the clock: 150 s later
    monkeypatch.setattr(celery_app, "monotonic", lambda: float(next(seconds)))
    monkeypatch.setattr(sla_tasks, "SWEEP_SOFT_LIMIT", 250)  # budget 230 s: a third batch is never started

    first = sla_tasks.sweep_clocks.run()
    assert first is not None
    assert (first["batches"], first["examined"], first["out_of_time"]) == (2, 4, True)
    db.session.rollback()
    assert alert_count() == 12  # what it did is kept

    second = sla_tasks.sweep_clocks.run()
    assert second is not None and (second["examined"], second["raised"], second["out_of_time"]) == (
        1,
        3,
        False,
    )
