"""The outbox (DESIGN §8): the beat relay and the after-commit nudge, with a fake publisher (no broker)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from kombu.exceptions import EncodeError
from kombu.exceptions import OperationalError as BrokerDown
from sqlalchemy import insert, select

from hotline.db import utcnow
from hotline.extensions import db
from hotline.outbox import publisher
from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.outbox.relay import prune_published, relay_pending

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=30)


class FakeBroker:
    """Records what is published; fails the calls whose index is in ``fail_at`` with ``error``."""

    def __init__(self, fail_at: tuple[int, ...] = (), error: Exception | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.calls = 0
        self.fail_at = fail_at
        self.error = error or BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.on_call: Any = None

    def __call__(self, task_name: str, kwargs: dict[str, Any]) -> None:
        index = self.calls
        self.calls += 1
        if self.on_call is not None:
            self.on_call()
        if index in self.fail_at:
            raise self.error
        self.sent.append((task_name, kwargs))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def messages() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def route(ticket_id: int, now: datetime = T0) -> OutboxMessage:
    """A routing message (ticket_id is only a payload value here: no request row is needed)."""
    return outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": ticket_id}, now)


def email(notification_id: int, now: datetime = T0) -> OutboxMessage:
    return outbox.enqueue(outbox.SEND_EMAIL, {"notification_id": notification_id}, now)


ROUTE_ONE = "hotline.routing.tasks.route_ticket"
ROUTE_MANY = "hotline.routing.tasks.route_tickets"


def routed(sent: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """The request ids of the routing tasks in ``sent``, in order, whether sent alone or in a batch."""
    ids: list[int] = []
    for name, kwargs in sent:
        if name == ROUTE_ONE:
            ids.append(kwargs["ticket_id"])
        elif name == ROUTE_MANY:
            ids.extend(kwargs["ticket_ids"])
    return ids


# --------------------------------------------------------------------------- the relay


def test_the_relay_publishes_pending_messages_routing_first_and_marks_them(app: Flask) -> None:
    route(1)
    email(7)
    route(2)
    email(8)
    broker = FakeBroker()

    assert relay_pending(broker, T1) == 4

    assert broker.sent == [  # the routing messages in one task, the e-mails one by one
        (ROUTE_MANY, {"ticket_ids": [1, 2]}),
        ("hotline.notifications.tasks.send_email", {"notification_id": 7}),
        ("hotline.notifications.tasks.send_email", {"notification_id": 8}),
    ]
    assert [(m.published_at, m.attempts, m.last_error) for m in messages()] == [(T1, 1, None)] * 4


def test_a_backlog_of_routing_messages_goes_out_in_batches_and_a_lone_one_alone(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    batching = outbox.BATCHES[outbox.ROUTE_TICKET]
    monkeypatch.setitem(outbox.BATCHES, outbox.ROUTE_TICKET, replace(batching, size=3))
    for i in range(1, 8):
        route(i)
    broker = FakeBroker()

    assert relay_pending(broker, T1) == 7

    assert broker.sent == [
        (ROUTE_MANY, {"ticket_ids": [1, 2, 3]}),
        (ROUTE_MANY, {"ticket_ids": [4, 5, 6]}),
        (ROUTE_ONE, {"ticket_id": 7}),
    ]
    assert all(m.published_at == T1 and m.attempts == 1 for m in messages())


def test_a_batch_the_broker_refuses_stays_pending_with_its_error(app: Flask) -> None:
    route(1)
    route(2)
    email(3)
    broker = FakeBroker(fail_at=(0,))

    assert relay_pending(broker, T1) == 0

    assert broker.calls == 1  # the broker is down: the e-mail is not tried
    first, second, mail = messages()
    for message in (first, second):
        assert (message.published_at, message.attempts) == (None, 1)
        assert message.last_error is not None and "Connection refused" in message.last_error
    assert (mail.published_at, mail.attempts) == (None, 0)


def test_a_batch_that_cannot_be_encoded_is_sent_one_by_one_and_only_the_bad_message_fails(
    app: Flask,
) -> None:
    route(1)
    route(2)
    broker = FakeBroker(fail_at=(0, 1), error=EncodeError("not JSON"))  # the batch, then message 1 alone

    assert relay_pending(broker, T1) == 1

    bad, good = messages()
    assert (bad.published_at, bad.last_error) == (None, "EncodeError: not JSON")
    assert good.published_at == T1 and good.last_error is None
    assert broker.sent == [(ROUTE_ONE, {"ticket_id": 2})]


def test_thousands_of_older_emails_never_delay_a_routing_message(app: Flask) -> None:
    for i in range(40):
        email(i, now=T0 - timedelta(minutes=10))
    route(1)  # the youngest message of all
    broker = FakeBroker()

    assert relay_pending(broker, T1, limit=5) == 5

    assert broker.sent[0] == (ROUTE_ONE, {"ticket_id": 1})
    assert [kwargs["notification_id"] for _, kwargs in broker.sent[1:]] == [0, 1, 2, 3]  # then oldest first
    # a batch holding only routing messages publishes no e-mail at all
    route(2)
    route(3)
    only_routing = FakeBroker()
    assert relay_pending(only_routing, T1, limit=2) == 2
    assert only_routing.sent == [(ROUTE_MANY, {"ticket_ids": [2, 3]})]


def test_the_relay_publishes_nothing_twice(app: Flask) -> None:
    route(1)
    broker = FakeBroker()
    relay_pending(broker, T1)
    db.session.commit()

    assert relay_pending(broker, T1 + timedelta(seconds=10)) == 0
    assert len(broker.sent) == 1


def test_the_relay_stops_at_the_first_broker_failure_and_records_it(app: Flask) -> None:
    email(1)
    email(2)
    email(3)
    broker = FakeBroker(fail_at=(1,))

    assert relay_pending(broker, T1) == 1

    first, second, third = messages()
    assert first.published_at == T1
    assert second.published_at is None
    assert second.attempts == 1
    assert second.last_error is not None and "Connection refused" in second.last_error
    assert (third.published_at, third.attempts) == (None, 0)  # not tried: the broker is down
    assert broker.calls == 2

    # the broker is back: the next run publishes the rest, in order, and clears the error
    later = FakeBroker()
    assert relay_pending(later, T1 + timedelta(seconds=10)) == 2
    assert later.sent == [
        ("hotline.notifications.tasks.send_email", {"notification_id": 2}),
        ("hotline.notifications.tasks.send_email", {"notification_id": 3}),
    ]
    assert (second.attempts, second.last_error) == (2, None)


def test_any_unexpected_error_counts_as_the_broker_failing(app: Flask) -> None:
    route(1)
    route(2)
    broker = FakeBroker(fail_at=(0,), error=RuntimeError("boom"))

    assert relay_pending(broker, T1) == 0
    assert broker.calls == 1
    assert messages()[0].last_error == "RuntimeError: boom"


def test_a_message_that_cannot_be_encoded_does_not_hold_back_the_others(app: Flask) -> None:
    email(1)
    email(2)
    broker = FakeBroker(fail_at=(0,), error=EncodeError("not JSON"))

    assert relay_pending(broker, T1) == 1
    bad, good = messages()
    assert (bad.published_at, bad.last_error) == (None, "EncodeError: not JSON")
    assert good.published_at == T1


def test_a_message_with_an_unknown_topic_keeps_an_error(app: Flask) -> None:
    outbox.enqueue("no_such_topic", {}, T0)
    route(1)
    broker = FakeBroker()

    assert relay_pending(broker, T1) == 1
    odd, _ = messages()
    assert odd.published_at is None and odd.last_error == "unknown topic 'no_such_topic'"


def test_the_relay_leaves_young_messages_to_the_nudge_and_respects_the_limit(app: Flask) -> None:
    route(1, now=T0)
    route(2, now=T0)
    route(3, now=T1 - timedelta(seconds=2))
    broker = FakeBroker()

    assert relay_pending(broker, T1, limit=1, older_than=timedelta(seconds=5)) == 1
    assert relay_pending(broker, T1, older_than=timedelta(seconds=5)) == 1
    assert [kwargs["ticket_id"] for _, kwargs in broker.sent] == [1, 2]
    assert relay_pending(broker, T1 + timedelta(seconds=10), older_than=timedelta(seconds=5)) == 1


# --------------------------------------------------------------------------- the after-commit nudge


@pytest.fixture
def broker(app: Flask) -> FakeBroker:
    fake = FakeBroker()
    publisher.init_app(app, publish=fake)
    return fake


@pytest.fixture
def clock(app: Flask, broker: FakeBroker) -> FakeClock:
    fake = FakeClock()
    app.extensions[publisher.EXTENSION].clock = fake
    return fake


def test_the_nudge_is_off_in_tests_without_a_broker(app: Flask) -> None:
    assert app.config["OUTBOX_NUDGE"] is False
    assert publisher.EXTENSION not in app.extensions
    route(1)
    db.session.commit()
    assert messages()[0].published_at is None


def test_messages_are_published_right_after_the_commit(app: Flask, broker: FakeBroker) -> None:
    seen_before_commit: list[int] = []
    broker.on_call = lambda: seen_before_commit.append(len(broker.sent))
    email(2)
    route(1)
    db.session.flush()
    assert broker.sent == []  # nothing leaves before the transaction commits

    db.session.commit()

    assert broker.sent == [  # routing first, within one commit too (the nudge has a time budget)
        ("hotline.routing.tasks.route_ticket", {"ticket_id": 1}),
        ("hotline.notifications.tasks.send_email", {"notification_id": 2}),
    ]
    assert all(m.published_at is not None and m.attempts == 1 for m in messages())
    # the beat relay finds nothing left to publish
    assert relay_pending(FakeBroker(), T1 + timedelta(hours=1)) == 0


def test_nothing_is_published_for_a_rolled_back_transaction(app: Flask, broker: FakeBroker) -> None:
    route(1)
    db.session.flush()
    db.session.rollback()
    # A row written behind the session's back (plain SQL, not through the outbox service) takes the freed id:
    # the rolled-back message must have been forgotten, or this commit would publish that row.
    db.session.execute(
        insert(OutboxMessage).values(
            topic=outbox.ROUTE_TICKET, payload={"ticket_id": 5}, created_at=T0, attempts=0
        )
    )
    db.session.commit()
    assert broker.sent == []

    route(2)
    db.session.commit()

    assert broker.sent == [("hotline.routing.tasks.route_ticket", {"ticket_id": 2})]


def test_a_savepoint_does_not_publish_before_the_outer_commit(app: Flask, broker: FakeBroker) -> None:
    with db.session.begin_nested():
        route(1)
    assert broker.sent == []
    db.session.commit()
    assert broker.sent == [("hotline.routing.tasks.route_ticket", {"ticket_id": 1})]


def test_a_rolled_back_savepoint_keeps_the_outer_messages(app: Flask, broker: FakeBroker) -> None:
    route(1)
    db.session.flush()
    savepoint = db.session.begin_nested()
    route(2)
    db.session.flush()
    savepoint.rollback()
    db.session.commit()

    assert broker.sent == [("hotline.routing.tasks.route_ticket", {"ticket_id": 1})]


def test_a_broker_failure_leaves_the_message_to_the_relay_and_opens_the_breaker(
    app: Flask, broker: FakeBroker, clock: FakeClock
) -> None:
    broker.fail_at = (0,)
    route(1)
    db.session.commit()  # the commit itself succeeds

    [message] = messages()
    assert message.published_at is None
    assert message.last_error is not None and "Connection refused" in message.last_error

    # for the next few seconds no commit even tries the broker: submissions stay fast
    for i in range(2, 12):
        route(i)
        db.session.commit()
    assert broker.calls == 1

    # after the breaker's pause the nudge tries again
    clock.now += publisher.BREAKER_SECONDS + 0.1
    route(99)
    db.session.commit()
    assert broker.sent == [("hotline.routing.tasks.route_ticket", {"ticket_id": 99})]

    # and the relay publishes everything the nudge skipped, in order
    relay = FakeBroker()
    assert relay_pending(relay, T1 + timedelta(minutes=1)) == 11
    assert routed(relay.sent) == list(range(1, 12))


def test_the_nudge_stops_at_its_time_budget(app: Flask, broker: FakeBroker, clock: FakeClock) -> None:
    def slow() -> None:
        clock.now += 0.6

    broker.on_call = slow
    for i in range(1, 5):
        email(i)
    db.session.commit()

    assert [kwargs["notification_id"] for _, kwargs in broker.sent] == [1, 2]
    assert [m.published_at is not None for m in messages()] == [True, True, False, False]


def test_a_failing_nudge_never_breaks_the_commit(app: Flask, broker: FakeBroker, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def explode(*args: object) -> int:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(publisher.Nudge, "__call__", explode)
    route(1)
    db.session.commit()
    assert messages()[0].published_at is None


def test_the_publishing_client_has_short_broker_timeouts() -> None:
    settings = {
        "broker_url": "redis://127.0.0.1:6379/0",
        "broker_transport_options": {"visibility_timeout": 3600, "socket_timeout": 5.0, "max_retries": 3},
    }
    quick = publisher.client_settings(settings, timeout=0.3)

    options = quick["broker_transport_options"]
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.3
    assert options["max_retries"] == 0
    assert options["visibility_timeout"] == 3600
    assert quick["broker_connection_timeout"] == 0.3
    assert (
        settings["broker_transport_options"]["socket_timeout"] == 5.0
    )  # the worker's settings are untouched


def test_published_messages_older_than_a_week_are_pruned(app: Flask) -> None:
    now = utcnow()
    old = OutboxMessage(
        topic="route_ticket", payload={}, created_at=now, published_at=now - timedelta(days=8)
    )
    recent = OutboxMessage(
        topic="route_ticket", payload={}, created_at=now, published_at=now - timedelta(days=1)
    )
    pending = OutboxMessage(topic="route_ticket", payload={}, created_at=now - timedelta(days=30))
    db.session.add_all([old, recent, pending])
    db.session.flush()
    assert prune_published(now) == 1
    left = set(db.session.scalars(select(OutboxMessage.id)))
    assert old.id not in left and {recent.id, pending.id} <= left
    assert prune_published(now) == 0
