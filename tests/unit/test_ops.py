"""Heartbeats, task counts and request ids without HTTP (issue 8, points 2 and 3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.app.task import Context
from flask import Flask
from sqlalchemy import func, select

from hotline import requestid
from hotline.db import utcnow
from hotline.extensions import db
from hotline.ops import health, heartbeats
from hotline.ops import worker as ops_worker
from hotline.ops.models import Component, Heartbeat, TaskCount
from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.outbox.relay import publish_rows


def test_a_heartbeat_is_one_row_per_process_renewed(app: Flask) -> None:
    then = utcnow() - timedelta(minutes=5)
    heartbeats.record(Component.WORKER, "w1@host", then, pid=10, details={"active": 0})
    heartbeats.record(Component.WORKER, "w1@host", then + timedelta(minutes=4), pid=11, details={"active": 2})
    heartbeats.record(Component.WORKER, "w2@host", then, pid=12)
    db.session.commit()
    rows = {row.name: row for row in db.session.scalars(select(Heartbeat))}
    assert set(rows) == {"w1@host", "w2@host"}
    assert rows["w1@host"].pid == 11 and rows["w1@host"].details == {"active": 2}
    assert rows["w1@host"].seen_at == then + timedelta(minutes=4)
    newest, names = health.newest_heartbeat(Component.WORKER)
    assert newest == then + timedelta(minutes=4) and names == 2


def test_heartbeats_silent_for_a_week_are_pruned(app: Flask) -> None:
    now = utcnow()
    heartbeats.record(Component.WORKER, "gone@old-machine", now - timedelta(days=8))
    heartbeats.record(Component.WORKER, "alive@host", now)
    assert heartbeats.prune(now) == 1
    assert list(db.session.scalars(select(Heartbeat.name))) == ["alive@host"]


def test_the_heartbeat_thread_writes_in_its_own_transaction(app: Flask) -> None:
    thread = heartbeats.HeartbeatThread(app, "w1@host", 30, lambda: {"active": 1}, pid=77)
    assert thread.beat() is True
    db.session.expire_all()
    row = db.session.get(Heartbeat, (Component.WORKER, "w1@host"))
    assert row is not None and row.pid == 77 and row.details == {"active": 1}
    assert utcnow() - row.seen_at < timedelta(seconds=5)


def test_a_successful_sweep_is_recorded(app: Flask) -> None:
    assert ops_worker.record_sweep(app, "w1@host") is True
    seen, _ = health.newest_heartbeat(Component.SWEEP)
    assert seen is not None and utcnow() - seen < timedelta(seconds=5)
    sweep = next(check for check in health.work_checks(utcnow()) if check.name == health.SWEEP)
    assert sweep.ok


def test_task_counts_add_up_across_flushes_and_processes(app: Flask) -> None:
    ticks = iter([0.0, 1.0, 20.0, 20.0, 21.0])
    counter = heartbeats.TaskCounter(10, lambda: next(ticks))
    counter.add("hotline.routing.tasks.route_ticket", "SUCCESS")
    assert not counter.due()  # 1 s after the start
    counter.add("hotline.routing.tasks.route_ticket", "FAILURE")
    counter.add("hotline.routing.tasks.route_ticket", "RETRY")
    assert counter.due()  # 20 s
    assert counter.flush(app) is True
    # another process (its own counter) adds its own counts to the same rows
    other = heartbeats.TaskCounter(10, lambda: 0.0)
    other.add("hotline.routing.tasks.route_ticket", "SUCCESS")
    other.add("hotline.notifications.tasks.send_email", "SUCCESS")
    assert other.flush(app) is True
    db.session.expire_all()
    route = db.session.get(TaskCount, "hotline.routing.tasks.route_ticket")
    email = db.session.get(TaskCount, "hotline.notifications.tasks.send_email")
    assert route is not None and (route.runs, route.failures, route.retries) == (4, 1, 1)
    assert email is not None and (email.runs, email.failures, email.retries) == (1, 0, 0)


def test_counts_that_could_not_be_written_are_kept_for_the_next_flush(app: Flask) -> None:
    counter = heartbeats.TaskCounter(0, lambda: 0.0)
    counter.add("some.task", "SUCCESS")
    broken = Flask("broken")  # no database configured: the write fails
    assert counter.flush(broken) is False
    assert counter.take() == {"some.task": (1, 0, 0)}


def test_an_outbox_message_keeps_the_request_id_it_was_written_under(app: Flask) -> None:
    with requestid.acting_as("req-in-web"):
        message = outbox.enqueue("route_ticket", {"ticket_id": 1}, utcnow())
    assert message.request_id == "req-in-web"
    assert outbox.enqueue("route_ticket", {"ticket_id": 2}, utcnow()).request_id is None
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_a_published_task_carries_the_request_id_and_the_worker_takes_it_back() -> None:
    headers: dict[str, Any] = {}
    requestid.add_to_headers(headers)
    assert headers == {}  # no request: nothing added
    with requestid.acting_as("req-1"):
        requestid.add_to_headers(headers)
    assert headers == {requestid.TASK_HEADER: "req-1"}

    # In the worker, the headers of the message are attributes of task.request.
    requestid.start_task("task-1", Context({"id": "task-1", **headers}))
    assert requestid.current() == "req-1"
    requestid.end_task("task-1")
    assert requestid.current() is None
    requestid.start_task("task-2", Context({"id": "task-2", requestid.TASK_HEADER: "bad id; drop table"}))
    assert requestid.current() is None  # not a sane token
    requestid.end_task("task-2")


def test_the_relay_publishes_a_message_under_the_request_id_that_wrote_it(app: Flask) -> None:
    with requestid.acting_as("req-long-ago"):
        message = outbox.enqueue("route_ticket", {"ticket_id": 1}, utcnow())
    seen: list[str | None] = []
    publish_rows([message], lambda name, kwargs: seen.append(requestid.current()), utcnow())
    assert seen == ["req-long-ago"]
