"""The worker's tasks called directly in the app context (no broker): one commit, rollback on error, locks.

``task.run(...)`` calls the task body as the worker would, without Celery's app binding (the test app's
context is already open).
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from hotline import celery_app as tasks_setup
from hotline import config as config_module
from hotline.db import utcnow
from hotline.extensions import db
from hotline.locks import job_lock
from hotline.notifications.tasks import send_email
from hotline.outbox import services as outbox
from hotline.outbox import tasks as outbox_tasks
from hotline.outbox.models import OutboxMessage
from hotline.outbox.tasks import prune_outbox, relay_outbox
from hotline.routing import services as routing
from hotline.routing.tasks import reconcile_unrouted, route_ticket, route_tickets
from hotline.sla.tasks import check_calendar, sweep_clocks
from hotline.tickets import tasks as ticket_tasks
from hotline.tickets.models import Ticket, TicketState
from hotline.tickets.tasks import close_unrated_tickets
from tests.factories import World
from worker.schedule import BEAT_SCHEDULE


@pytest.fixture(autouse=True)
def instance_dir(app: Flask, tmp_path: Path) -> Iterator[Path]:
    """File locks go to a private folder, never the instance folder a running ``make run`` uses."""
    before = app.config["INSTANCE_DIR"]
    app.config["INSTANCE_DIR"] = str(tmp_path)
    yield tmp_path
    app.config["INSTANCE_DIR"] = before


def reread(ticket_id: int) -> Ticket:
    db.session.rollback()  # anything not committed is gone
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket is not None
    return ticket


def ago(**delta: float) -> datetime:
    return utcnow() - timedelta(**delta)


# --------------------------------------------------------------------------- route_ticket


def test_route_ticket_commits_the_assignment(world: World) -> None:
    ticket = world.submit(ago(seconds=5))
    db.session.commit()

    assert route_ticket.run(ticket.id) == "primary"

    routed = reread(ticket.id)
    assert routed.state == TicketState.ASSIGNED
    assert routed.assignee_id == world.liaison.id
    # a duplicate delivery changes nothing
    assert route_ticket.run(ticket.id) == "skipped"


def test_route_ticket_rolls_back_on_error(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = world.submit(ago(seconds=5))
    db.session.commit()

    def half_done(ticket_id: int, now: datetime) -> routing.RoutingDecision:
        row = db.session.get(Ticket, ticket_id)
        assert row is not None
        row.state = TicketState.ASSIGNED
        row.assignee_id = world.liaison.id
        db.session.flush()
        raise RuntimeError("worker bug")

    monkeypatch.setattr(routing, "route_ticket", half_done)

    with pytest.raises(RuntimeError):
        route_ticket.run(ticket.id)

    again = reread(ticket.id)
    assert (again.state, again.assignee_id) == (TicketState.SUBMITTED, None)


def test_route_tickets_routes_a_batch_in_one_commit(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [world.submit(ago(seconds=5)).id for _ in range(3)]
    db.session.commit()
    commits = count_commits(monkeypatch)

    assert route_tickets.run(ids) == {"primary": 3}

    assert len(commits) == 1
    assert {reread(i).assignee_id for i in ids} == {world.liaison.id}
    # a duplicate delivery changes nothing
    assert route_tickets.run(ids) == {"skipped": 3}


def test_one_request_that_cannot_be_routed_loses_none_of_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [world.submit(ago(seconds=5)).id for _ in range(3)]
    db.session.commit()
    bad = ids[1]
    real_route = routing.route_tickets

    def route_or_fail(ticket_ids: list[int], now: datetime) -> list[routing.RoutingDecision]:
        decisions = real_route(ticket_ids, now)  # writes, flushed, then the failure: all rolled back
        if bad in ticket_ids:
            raise RuntimeError("worker bug on one request")
        return decisions

    monkeypatch.setattr(routing, "route_tickets", route_or_fail)

    with pytest.raises(RuntimeError, match="one request"):
        route_tickets.run(ids)  # the task fails (and is logged) for the one that failed

    states = {i: reread(i).state for i in ids}
    assert states == {ids[0]: TicketState.ASSIGNED, bad: TicketState.SUBMITTED, ids[2]: TicketState.ASSIGNED}


def test_route_tickets_retries_transient_database_errors_with_backoff() -> None:
    assert OperationalError in route_tickets.autoretry_for
    assert route_tickets.retry_backoff and route_tickets.max_retries


def test_route_ticket_retries_transient_database_errors_with_backoff() -> None:
    task = route_ticket
    assert OperationalError in task.autoretry_for
    assert task.retry_backoff and task.max_retries == 5


# --------------------------------------------------------------------------- send_email


def test_send_email_retries_smtp_failures_with_backoff() -> None:
    task = send_email
    assert {OSError, smtplib.SMTPException} <= set(task.autoretry_for)
    assert task.retry_backoff is True
    assert task.max_retries == 8


def test_send_email_rolls_back_when_sending_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.notifications import email

    def down(notification_id: int, now: datetime) -> bool:
        outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": 1}, now)  # a change that must not survive
        raise smtplib.SMTPServerDisconnected("connection closed")

    monkeypatch.setattr(email, "send_notification_email", down)

    with pytest.raises(
        smtplib.SMTPServerDisconnected
    ):  # called directly, Celery re-raises instead of retrying
        send_email.run(42)
    db.session.rollback()
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_send_email_commits_what_the_sender_marked(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.notifications import email

    calls: list[int] = []

    def sent(notification_id: int, now: datetime) -> bool:
        calls.append(notification_id)
        outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": 1}, now)  # stands for "marked sent"
        return True

    monkeypatch.setattr(email, "send_notification_email", sent)

    send_email.run(42)
    db.session.rollback()
    assert calls == [42]
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 1


# --------------------------------------------------------------------------- periodic jobs


class FakeSend:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, kwargs: dict[str, Any] | None = None, **options: Any) -> None:
        assert options.get("retry") is False
        self.sent.append((name, kwargs or {}))


@pytest.fixture
def send(monkeypatch: pytest.MonkeyPatch) -> FakeSend:
    fake = FakeSend()
    monkeypatch.setattr(relay_outbox.app, "send_task", fake)
    return fake


def test_relay_outbox_publishes_and_commits(world: World, send: FakeSend) -> None:
    outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": 1}, ago(minutes=1))
    outbox.enqueue(outbox.SEND_EMAIL, {"notification_id": 2}, ago(minutes=1))
    outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": 3}, ago(seconds=1))  # left to the nudge for now
    db.session.commit()

    assert relay_outbox.run() == 2

    db.session.rollback()
    assert send.sent == [
        ("hotline.routing.tasks.route_ticket", {"ticket_id": 1}),
        ("hotline.notifications.tasks.send_email", {"notification_id": 2}),
    ]
    published = [m.published_at is not None for m in db.session.scalars(select(OutboxMessage))]
    assert published == [True, True, False]


def test_a_periodic_job_whose_lock_is_held_returns_at_once(world: World, send: FakeSend) -> None:
    outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": 1}, ago(minutes=1))
    db.session.commit()

    with job_lock("relay-outbox", 60) as held:
        assert held
        assert relay_outbox.run() is None
    assert send.sent == []

    assert relay_outbox.run() == 1  # the lock was released


def test_the_file_lock_is_exclusive_and_released(app: Flask, instance_dir: Path) -> None:
    with job_lock("sweep-clocks", 60) as first:
        with job_lock("sweep-clocks", 60) as second:
            assert (first, second) == (True, False)
        with job_lock("close-unrated", 60) as other:
            assert other  # one lock per job
    with job_lock("sweep-clocks", 60) as again:
        assert again
    assert (instance_dir / "locks" / "sweep-clocks.lock").exists()


def test_reconcile_unrouted_requeues_and_commits(world: World) -> None:
    ticket = world.submit(ago(minutes=10))
    for message in db.session.scalars(select(OutboxMessage)):
        message.published_at = ago(minutes=10)  # published, then lost by the broker
    db.session.commit()

    assert reconcile_unrouted.run() == 1
    db.session.rollback()
    pending = db.session.scalars(select(OutboxMessage).where(OutboxMessage.published_at.is_(None))).all()
    assert [(m.topic, m.payload) for m in pending] == [(outbox.ROUTE_TICKET, {"ticket_id": ticket.id})]


@pytest.fixture
def without_followup(app: Flask) -> Iterator[None]:
    """The follow-up calls turned off: the rating window's sweep closes unrated requests."""
    app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 0
    yield
    app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 2


def test_close_unrated_tickets_commits(world: World, without_followup: None) -> None:
    ticket = world.resolved(ago(days=10))
    db.session.commit()

    assert close_unrated_tickets.run() == 1
    assert reread(ticket.id).state == TicketState.CLOSED


def test_close_unrated_tickets_closes_a_backlog_in_batches(
    world: World, monkeypatch: pytest.MonkeyPatch, without_followup: None
) -> None:
    ids = [world.resolved(ago(days=10)).id for _ in range(5)]
    db.session.commit()
    monkeypatch.setattr(ticket_tasks, "CLOSE_BATCH", 2)
    commits = count_commits(monkeypatch)

    assert close_unrated_tickets.run() == 5
    assert {reread(i).state for i in ids} == {TicketState.CLOSED}
    assert len(commits) == 3  # 2 + 2 + 1, each batch its own transaction


def test_sweep_clocks_calls_the_sweep_under_its_lock_and_commits(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotline.sla import sweeps

    seen: list[datetime] = []

    def sweep(now: datetime, limit: int) -> sweeps.SweepResult:
        seen.append(now)
        outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": 1}, now)
        return sweeps.SweepResult(examined=1, overdue=1)  # not a full batch: the run ends here

    monkeypatch.setattr(sweeps, "sweep_clocks", sweep)

    summary = sweep_clocks.run()
    db.session.rollback()
    assert summary is not None and (summary["batches"], summary["raised"]) == (1, 1)
    assert len(seen) == 1 and abs(seen[0] - utcnow()) < timedelta(minutes=1)
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 1

    with job_lock("sweep-clocks", 60):
        assert sweep_clocks.run() is None
    assert len(seen) == 1


def test_check_calendar_syncs_then_checks(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.sla import services as sla

    calls: list[str] = []
    monkeypatch.setattr(sla, "sync_calendar_from_package", lambda now: calls.append("sync") or [])
    monkeypatch.setattr(sla, "check_missing_years", lambda now: calls.append("check") or [])

    check_calendar.run()
    assert calls == ["sync", "check"]


# --------------------------------------------------------------------------- batched periodic jobs


def count_commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record every commit of the session (the batches' transactions)."""
    commits: list[int] = []
    real = db.session.commit

    def commit() -> None:
        commits.append(1)
        real()

    monkeypatch.setattr(db.session, "commit", commit)
    return commits


def test_a_batched_job_commits_each_batch_and_stops_when_a_batch_is_not_full(world: World) -> None:
    sizes = iter([3, 3, 1, 3])
    done: list[int] = []

    def batch() -> int:
        size = next(sizes)
        outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": size}, utcnow())
        done.append(size)
        return size

    run = tasks_setup.periodic_batches("test-batches", 60, batch, more=lambda n: n >= 3, budget=60)

    assert run is not None and run.results == [3, 3, 1] and not run.out_of_time
    db.session.rollback()
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 3  # every batch committed


def test_a_batched_job_stops_at_its_budget_and_keeps_what_it_committed(world: World) -> None:
    moments = iter([0.0, 10.0, 20.0, 31.0, 40.0])

    def batch() -> int:
        outbox.enqueue(outbox.SEND_EMAIL, {"notification_id": 1}, utcnow())
        return 100

    run = tasks_setup.periodic_batches(
        "test-batches", 60, batch, more=lambda n: True, budget=30, clock=lambda: next(moments)
    )

    assert run is not None and (run.batches, run.out_of_time, run.seconds) == (3, True, 40.0)
    db.session.rollback()
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 3


def test_a_batched_job_whose_lock_is_held_does_nothing(world: World) -> None:
    calls: list[int] = []
    with job_lock("test-batches", 60):
        run = tasks_setup.periodic_batches(
            "test-batches", 60, lambda: calls.append(1) or 0, more=lambda n: False, budget=60
        )
    assert run is None and calls == []


def test_the_relay_drains_a_backlog_in_batches_routing_first(
    world: World, send: FakeSend, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(4):
        outbox.enqueue(outbox.SEND_EMAIL, {"notification_id": i}, ago(minutes=5))
    outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": 9}, ago(minutes=1))
    db.session.commit()
    monkeypatch.setattr(outbox_tasks, "RELAY_BATCH", 2)
    commits = count_commits(monkeypatch)

    assert relay_outbox.run() == 5

    assert send.sent[0] == ("hotline.routing.tasks.route_ticket", {"ticket_id": 9})
    assert [kwargs["notification_id"] for _, kwargs in send.sent[1:]] == [0, 1, 2, 3]
    assert len(commits) == 3  # 2 + 2 + 1


def test_prune_outbox_deletes_in_batches(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    old = utcnow() - timedelta(days=8)
    for i in range(5):
        db.session.add(
            OutboxMessage(topic=outbox.SEND_EMAIL, payload={"n": i}, created_at=old, published_at=old)
        )
    db.session.commit()
    monkeypatch.setattr(outbox_tasks, "PRUNE_BATCH", 2)
    commits = count_commits(monkeypatch)

    assert prune_outbox.run() == 5
    assert len(commits) == 3
    db.session.rollback()
    assert db.session.scalars(select(OutboxMessage)).all() == []


# --------------------------------------------------------------------------- queues


def queue_of(celery: Any, task_name: str) -> str:
    """The queue a message for ``task_name`` is published to, by this Celery app's routes."""
    return str(celery.amqp.router.route({}, task_name)["queue"].name)


def test_routing_has_its_own_queue_ahead_of_email(app: Flask) -> None:
    from hotline.outbox.publisher import CeleryPublisher

    celery = app.extensions["celery"]
    nudge = CeleryPublisher(app.config["CELERY"], timeout=0.3).client  # publishes right after commit
    for client in (celery, nudge):
        assert queue_of(client, route_ticket.name) == "routing"
        assert queue_of(client, reconcile_unrouted.name) == "routing"
        assert queue_of(client, relay_outbox.name) == "routing"
        for task in (send_email, sweep_clocks, close_unrated_tickets, prune_outbox, check_calendar):
            assert queue_of(client, task.name) == "default", task.name
    # A worker started without -Q consumes both queues; `-Q routing` picks the routing one alone.
    assert set(celery.amqp.queues) == {"routing", "default"}
    assert celery.conf.task_default_queue == "default"


# --------------------------------------------------------------------------- settings and schedule


def test_the_beat_schedule_runs_every_job() -> None:
    every = {name: entry["schedule"] for name, entry in BEAT_SCHEDULE.items()}
    assert every["relay-outbox"] == timedelta(seconds=10)
    assert every["reconcile-unrouted"] == timedelta(minutes=1)
    assert every["sweep-clocks"] == timedelta(minutes=1)
    assert every["close-unrated"] == timedelta(minutes=5)
    assert every["prune-outbox"] == timedelta(hours=1)
    assert "check-calendar" in every
    registered = {
        "hotline.outbox.tasks.relay_outbox",
        "hotline.routing.tasks.reconcile_unrouted",
        "hotline.sla.tasks.sweep_clocks",
        "hotline.tickets.tasks.close_unrated_tickets",
        "hotline.sla.tasks.check_calendar",
        "hotline.outbox.tasks.prune_outbox",
        "hotline.tickets.idempotency.tasks.prune_idempotency_keys",
    }
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == registered
    for entry in BEAT_SCHEDULE.values():  # never an eta/countdown
        assert set(entry.get("options", {})) <= {"expires"}


def test_beat_sends_the_heartbeat_task_to_each_queue() -> None:
    from worker.schedule import heartbeat_entries

    entries = heartbeat_entries(30)
    assert {e["options"]["queue"] for e in entries.values()} == {"routing", "default"}
    assert {e["task"] for e in entries.values()} == {"hotline.ops.tasks.heartbeat"}
    assert all(
        e["schedule"] == timedelta(seconds=30) and e["options"]["expires"] == 30 for e in entries.values()
    )


def test_production_celery_settings(tmp_path: Path) -> None:
    settings = config_module._broker_settings("redis://redis:6379/0", tmp_path)

    assert settings["broker_url"] == "redis://redis:6379/0"
    assert settings["result_backend"] is None and settings["task_ignore_result"] is True
    assert settings["task_serializer"] == "json" and settings["accept_content"] == ["json"]
    assert settings["task_acks_late"] is True and settings["task_reject_on_worker_lost"] is True
    assert settings["worker_prefetch_multiplier"] == 1
    options = settings["broker_transport_options"]
    assert settings["task_time_limit"] < options["visibility_timeout"]
    assert settings["task_soft_time_limit"] < settings["task_time_limit"]
    assert (
        options["max_retries"] is not None and options["socket_timeout"] and options["socket_connect_timeout"]
    )
    assert settings["task_publish_retry_policy"]["max_retries"] <= 3
    for limit in (tasks_setup.RELAY_LIMIT, tasks_setup.SHORT_JOB_LIMIT, tasks_setup.SWEEP_LIMIT):
        assert limit < options["visibility_timeout"]


def test_embedded_celery_settings_use_the_private_redis_server(tmp_path: Path) -> None:
    settings = config_module._broker_settings(None, tmp_path)
    assert settings["broker_url"] == f"redis://127.0.0.1:{config_module.EMBEDDED_REDIS_PORT}/0"
    assert settings["broker_transport_options"]["socket_connect_timeout"]


def test_every_task_stops_softly_before_its_hard_limit_and_before_redelivery() -> None:
    """Celery refuses to publish a task whose soft limit exceeds its hard limit (the global soft limit
    applies to a task that sets only a hard one)."""
    settings = config_module._broker_settings("redis://redis:6379/0", Path("/tmp"))
    visibility = settings["broker_transport_options"]["visibility_timeout"]
    for task in (
        route_ticket,
        send_email,
        relay_outbox,
        reconcile_unrouted,
        sweep_clocks,
        check_calendar,
        close_unrated_tickets,
    ):
        hard = task.time_limit or settings["task_time_limit"]
        soft = task.soft_time_limit or settings["task_soft_time_limit"]
        assert soft < hard < visibility, task.name


def test_the_broker_follows_an_overridden_redis_url() -> None:
    redis = config_module.load({"REDIS_URL": "redis://127.0.0.1:6391/0"})
    assert redis["CELERY"]["broker_url"] == "redis://127.0.0.1:6391/0"
