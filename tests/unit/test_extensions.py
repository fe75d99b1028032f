"""Extensions (延期): the assignee asks for more working days, a manager approves or refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from hotline.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.sla import services as sla
from hotline.sla.models import AlertLevel, ClockAlert, ExtensionState
from hotline.sla.sweeps import sweep_clocks
from hotline.sla.worktime import LOCAL_TZ
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket, TicketEvent

# 10:00 on Tuesday 10 March 2026 in Shanghai; the resolve clock then ends on Tuesday 17 March 10:00.
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


def events_of(ticket: Ticket, kind: EventKind) -> list[TicketEvent]:
    return list(
        db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
        )
    )


def test_the_assignee_asks_and_a_manager_approves(app, world, year_2026):
    ticket = world.in_progress(T0)
    extension = sla.request_extension(ticket.id, world.liaison, 3, "Waiting for the land bureau.", T0)
    assert extension.state == ExtensionState.PENDING
    assert list(db.session.scalars(sla.pending_extensions())) == [extension]
    [asked] = events_of(ticket, EventKind.EXTENSION_REQUESTED)
    assert (
        asked.public is False and asked.payload["days"] == 3 and asked.body == "Waiting for the land bureau."
    )

    decided = sla.decide_extension(extension.id, world.manager, True, "", local(2026, 3, 12, 9, 0))
    assert decided.state == ExtensionState.APPROVED
    assert decided.old_due_at == local(2026, 3, 17, 10, 0)
    assert ticket.resolve_due_at == decided.new_due_at == local(2026, 3, 20, 10, 0)
    assert decided.decided_by_id == world.manager.id
    [approved] = events_of(ticket, EventKind.EXTENSION_APPROVED)
    assert approved.public is True  # the enterprise sees the new deadline
    assert approved.payload["new_due_at"] == "2026-03-20T10:00:00+08:00"
    assert list(db.session.scalars(sla.pending_extensions())) == []


def test_an_extension_over_a_holiday_counts_working_days(app, world, year_2026):
    ticket = world.in_progress(local(2026, 9, 23, 10, 0))
    # 5 working days from Wednesday 23 September 10:00: 24, 28, 29 and 30 September (25 is the Mid-Autumn
    # Festival), then the National Day week, then 8 October.
    assert ticket.resolve_due_at == local(2026, 10, 8, 10, 0)
    asked = local(2026, 9, 29, 10, 0)
    extension = sla.request_extension(ticket.id, world.liaison, 2, "Holiday week ahead.", asked)
    sla.decide_extension(extension.id, world.manager, True, "OK", asked)
    # Two working days later: Friday 9 and the make-up Saturday 10 October.
    assert ticket.resolve_due_at == local(2026, 10, 10, 10, 0)


def test_a_refusal_needs_a_note_and_leaves_the_deadline(app, world, year_2026):
    ticket = world.in_progress(T0)
    due = ticket.resolve_due_at
    extension = sla.request_extension(ticket.id, world.liaison, 2, "More time please.", T0)
    with pytest.raises(ValidationFailed) as error:
        sla.decide_extension(extension.id, world.manager, False, "  ", T0)
    assert "note" in error.value.fields
    sla.decide_extension(extension.id, world.manager, False, "The answer is ready; resolve it.", T0)
    assert extension.state == ExtensionState.REFUSED
    assert ticket.resolve_due_at == due
    [refused] = events_of(ticket, EventKind.EXTENSION_REFUSED)
    assert refused.public is False and refused.body == "The answer is ready; resolve it."
    with pytest.raises(InvalidTransition, match="already been decided"):
        sla.decide_extension(extension.id, world.manager, True, "", T0)


@pytest.mark.parametrize(
    ("days", "reason", "fields"),
    [
        (0, "why", {"working_days"}),
        (31, "why", {"working_days"}),
        ("three", "why", {"working_days"}),
        (3, "   ", {"reason"}),
        (-1, "", {"working_days", "reason"}),
    ],
)
def test_bad_extension_requests_are_refused_on_their_fields(app, world, year_2026, days, reason, fields):
    ticket = world.in_progress(T0)
    with pytest.raises(ValidationFailed) as error:
        sla.request_extension(ticket.id, world.liaison, days, reason, T0)
    assert set(error.value.fields) == fields


def test_who_may_ask_and_decide(app, world, year_2026):
    ticket = world.in_progress(T0)
    with pytest.raises(Forbidden, match="Only the assignee"):
        sla.request_extension(ticket.id, world.manager, 2, "why", T0)
    with pytest.raises(NotFound):  # another building's liaison does not even see the request
        sla.request_extension(ticket.id, world.other_liaison, 2, "why", T0)
    extension = sla.request_extension(ticket.id, world.liaison, 2, "why", T0)
    with pytest.raises(Forbidden, match="Only a manager"):
        sla.decide_extension(extension.id, world.liaison, True, "", T0)
    with pytest.raises(NotFound):
        sla.decide_extension(999_999, world.manager, True, "", T0)


def test_one_pending_request_at_a_time(app, world, year_2026):
    ticket = world.in_progress(T0)
    first = sla.request_extension(ticket.id, world.liaison, 2, "why", T0)
    with pytest.raises(InvalidTransition, match="already waiting"):
        sla.request_extension(ticket.id, world.liaison, 1, "why again", T0)
    sla.decide_extension(first.id, world.manager, True, "", T0)
    second = sla.request_extension(ticket.id, world.liaison, 1, "one more day", T0)
    sla.decide_extension(second.id, world.manager, True, "", T0)
    assert ticket.resolve_due_at == local(2026, 3, 20, 10, 0)  # 5 + 2 + 1 working days


def test_only_a_request_in_progress_gets_more_time(app, world, year_2026):
    assigned = world.submit(T0)
    tickets.assign(assigned.id, world.manager, world.liaison.username, T0)
    with pytest.raises(InvalidTransition, match="in progress"):
        sla.request_extension(assigned.id, world.liaison, 2, "why", T0)
    ticket = world.in_progress(T0)
    extension = sla.request_extension(ticket.id, world.liaison, 2, "why", T0)
    tickets.resolve(ticket.id, world.liaison, "Done after all.", T0)
    with pytest.raises(InvalidTransition, match="no longer on the clock"):
        sla.decide_extension(extension.id, world.manager, True, "", T0)
    # Settled with the lifecycle table: a decision is for the running clock, approving or refusing alike,
    # and an extension left behind is no longer listed for a decision.
    with pytest.raises(InvalidTransition, match="no longer on the clock"):
        sla.decide_extension(extension.id, world.manager, False, "Resolved meanwhile.", T0)
    assert extension.id not in {e.id for e in db.session.scalars(sla.pending_extensions())}


def test_a_recompute_keeps_the_approved_days(app, world, year_2026):
    ticket = world.in_progress(T0)
    extension = sla.request_extension(ticket.id, world.liaison, 2, "why", T0)
    sla.decide_extension(extension.id, world.manager, True, "", T0)
    assert ticket.resolve_due_at == local(2026, 3, 19, 10, 0)
    sla.set_day(date(2026, 3, 11), False, "Closure", world.manager, T0)
    assert ticket.resolve_due_at == local(2026, 3, 20, 10, 0)
    # An unrelated change leaves it where it is, with no new event.
    recomputed = len(events_of(ticket, EventKind.CLOCKS_RECOMPUTED))
    sla.set_day(date(2026, 4, 30), False, "Closure", world.manager, T0)
    assert ticket.resolve_due_at == local(2026, 3, 20, 10, 0)
    assert len(events_of(ticket, EventKind.CLOCKS_RECOMPUTED)) == recomputed


def test_alerts_of_the_old_deadline_stay_and_the_new_deadline_raises_its_own(app, world, year_2026):
    ticket = world.in_progress(T0)
    old_due = ticket.resolve_due_at
    late = local(2026, 3, 17, 11, 0)
    assert sweep_clocks(late).overdue == 1
    assert ticket.escalation_level == 1

    extension = sla.request_extension(ticket.id, world.liaison, 3, "why", late)
    sla.decide_extension(extension.id, world.manager, True, "", late)
    assert ticket.resolve_due_at == local(2026, 3, 20, 10, 0)
    assert ticket.escalation_level == 0  # no longer late
    assert sweep_clocks(late).raised == 0

    result = sweep_clocks(local(2026, 3, 20, 10, 30))
    assert (result.warning, result.overdue) == (1, 1)
    alerts = db.session.scalars(select(ClockAlert).where(ClockAlert.level == AlertLevel.OVERDUE)).all()
    assert sorted(a.due_at for a in alerts) == [old_due, ticket.resolve_due_at]
    assert ticket.escalation_level == 1
