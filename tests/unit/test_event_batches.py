"""Batches of lifecycle events (hotline.tickets.events.batch): writes put off to the end, once, and dropped
on error; the clock sweep's notifications of a whole batch written together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy import select

from hotline.db import utcnow
from hotline.extensions import db
from hotline.notifications.models import Notification
from hotline.outbox.models import OutboxMessage
from hotline.tickets import events
from hotline.tickets.models import EventKind
from hotline.tickets.services import record_event
from tests.factories import World


def test_work_put_off_runs_once_at_the_end_in_the_order_asked() -> None:
    done: list[str] = []
    assert events.at_batch_end("a", lambda: done.append("now")) is False  # no batch: the caller works now
    with events.batch():
        assert events.at_batch_end("a", lambda: done.append("a"))
        assert events.at_batch_end("b", lambda: done.append("b"))
        assert events.at_batch_end("a", lambda: done.append("a again"))  # once per key
        assert done == []
    assert done == ["a", "b"]


def test_an_inner_batch_joins_the_outer_and_state_lives_as_long_as_the_batch() -> None:
    done: list[str] = []
    assert events.batch_state("k", list) is None
    with events.batch():
        kept = events.batch_state("k", list)
        assert kept == [] and events.batch_state("k", list) is kept
        with events.batch():
            events.at_batch_end("inner", lambda: done.append("inner"))
        assert done == []  # the inner block's work waits for the outer end
    assert done == ["inner"] and events.batch_state("k", list) is None


def test_after_an_error_the_work_put_off_is_dropped() -> None:
    done: list[str] = []
    with pytest.raises(RuntimeError), events.batch():
        events.at_batch_end("a", lambda: done.append("a"))
        events.batch_state("k", list)
        raise RuntimeError("the action failed: the caller rolls back")
    assert done == [] and events.batch_state("k", list) is None
    with events.batch():
        pass  # a new batch starts empty
    assert done == []


def _flushes(work: Callable[[], None]) -> int:
    """How many flushes ``work`` makes."""
    flushes: list[int] = []

    def count(*_: Any) -> None:
        flushes.append(1)

    sa_event.listen(db.session, "before_flush", count)
    try:
        work()
    finally:
        sa_event.remove(db.session, "before_flush", count)
    return len(flushes)


def test_a_batch_of_alerts_writes_its_notifications_and_emails_in_a_few_flushes(
    app: Flask, world: World
) -> None:
    """Ten clock alerts in one batch: everyone told about each, an email each, in a few flushes, where one by
    one it takes two for each alert."""
    world.manager.email = "boss@example.gov.cn"
    world.liaison.email = "liaison@example.gov.cn"
    tickets = [world.in_progress() for _ in range(10)]
    db.session.flush()
    now = utcnow()

    def alerts(kind: EventKind) -> None:
        for ticket in tickets:
            record_event(ticket, None, kind, now, public=False, payload={"level": 1})

    def batched() -> None:
        with events.batch():
            alerts(EventKind.OVERDUE)

    # the managers' query autoflushes the first event (the sweep turns autoflush off), then the events and
    # notifications, then the emails: one statement each on PostgreSQL
    assert _flushes(batched) <= 3
    told = db.session.scalars(select(Notification).where(Notification.created_at == now)).all()
    assert {n.user_id for n in told} >= {world.manager.id, world.liaison.id}
    assert len(told) == 10 * len({n.user_id for n in told})  # everyone told about every request
    emails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "send_email", OutboxMessage.created_at == now)
    ).all()
    assert sorted(m.payload["notification_id"] for m in emails) == sorted(n.id for n in told)

    assert _flushes(lambda: alerts(EventKind.WARNING)) >= 2 * len(tickets)
