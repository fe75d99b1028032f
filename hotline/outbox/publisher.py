"""Publishing outbox messages right after the transaction that wrote them commits (DESIGN §8).

``init_app`` installs the *nudge*: SQLAlchemy session events remember the :class:`OutboxMessage` rows a
transaction adds (a copy of each: topic, payload, request id) and, once it has committed, publish them by
task name through a small Celery client (``hotline`` never imports ``worker/``) and mark them published in
one short statement of a new transaction (the rows are not read again).  In a web request this happens
once the answer has been sent (the WSGI response's ``close``), so the user never waits for the broker;
elsewhere (a task, a command) right after the commit.

The nudge must never slow a request down or break it: every publish has short socket timeouts, the whole
nudge has a time budget of about a second, any error is logged and dropped (the beat relay publishes the
message later), and after a failure a circuit breaker skips nudging for a few seconds — so a burst of
submissions while the broker is down runs at normal speed and is routed once the broker is back.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery import Celery
from flask import Flask, after_this_request, current_app, g, has_app_context, has_request_context
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.wrappers import Response

from hotline.db import utcnow
from hotline.extensions import db
from hotline.outbox.models import OutboxMessage
from hotline.outbox.relay import PublishFn, publish_rows

log = logging.getLogger(__name__)

EXTENSION = "hotline_outbox_nudge"
_PENDING = "hotline_outbox_pending"  # key in Session.info: copies of the messages a transaction wrote
_AFTER_ANSWER = "hotline_outbox_after_answer"  # key in flask.g: what to publish once the answer is sent

NUDGE_SOCKET_TIMEOUT = 0.3  # seconds, per socket operation with the broker
NUDGE_BUDGET = 1.0  # seconds, for the whole nudge after one commit
BREAKER_SECONDS = 5.0  # after a failure, leave publishing to the beat relay for this long


def client_settings(settings: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """The Celery settings for a publishing client, with short broker timeouts if ``timeout`` is given."""
    result = copy.deepcopy(settings)
    if timeout is None:
        return result
    result["broker_connection_timeout"] = timeout
    result["task_publish_retry"] = False
    if str(result.get("broker_url", "")).startswith(("redis://", "rediss://", "unix://")):
        options = dict(result.get("broker_transport_options") or {})
        options.update(
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            max_retries=0,  # one connection attempt: the relay retries later
            interval_start=0,
            interval_step=0,
            interval_max=0,
        )
        result["broker_transport_options"] = options
    return result


class CeleryPublisher:
    """Sends tasks by name through a Celery client built from ``app.config["CELERY"]`` (created lazily)."""

    def __init__(self, settings: dict[str, Any], timeout: float | None = None) -> None:
        self._settings = client_settings(settings, timeout)
        self._client: Celery | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Celery:
        with self._lock:
            if self._client is None:
                # set_as_current=False: inside a worker this client must not replace the worker's own app.
                client = Celery("hotline-publisher", set_as_current=False)
                client.conf.update(self._settings)
                self._client = client
            return self._client

    def __call__(self, task_name: str, kwargs: dict[str, Any]) -> None:
        """Publish one task; raises the broker's error (no retry: the outbox relay is the retry)."""
        self.client.send_task(task_name, kwargs=kwargs, retry=False)


class Nudge:
    """Publishes the outbox rows of a committed transaction within a time budget, behind a circuit breaker."""

    def __init__(
        self,
        publish: PublishFn,
        budget: float = NUDGE_BUDGET,
        breaker_seconds: float = BREAKER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publish = publish
        self.budget = budget
        self.breaker_seconds = breaker_seconds
        self.clock = clock
        self._open_until = 0.0

    @property
    def breaker_open(self) -> bool:
        return self.clock() < self._open_until

    def trip(self) -> None:
        self._open_until = self.clock() + self.breaker_seconds

    def __call__(self, engine: Engine, messages: list[OutboxMessage]) -> int:
        """Publish ``messages`` (copies of the rows the committed transaction wrote), mark the rows; returns
        how many were published.  Never raises.

        The rows are not read again: their copies are published, then one short transaction marks them
        (``… WHERE published_at IS NULL``: a row the beat relay published meanwhile stays as it marked
        it — published twice, which the tasks tolerate), on PostgreSQL without waiting for its commit to
        reach the disk (``synchronous_commit`` off): a mark lost in a crash only means a message the relay
        publishes once more.
        """
        if not messages:
            return 0
        if self.breaker_open:
            log.debug("outbox nudge skipped (broker failed recently): %d left to the relay", len(messages))
            return 0
        deadline = self.clock() + self.budget
        failed = False

        def publish(task_name: str, kwargs: dict[str, Any]) -> None:
            nonlocal failed
            try:
                self.publish(task_name, kwargs)
            except Exception:
                failed = True
                raise

        try:
            now = utcnow()
            count = publish_rows(messages, publish, now, out_of_time=lambda: self.clock() > deadline)
            _mark(engine, messages, now)
        except Exception:
            log.warning("outbox nudge failed; the beat relay will publish", exc_info=True)
            self.trip()
            return 0
        if failed:
            log.warning("outbox nudge: broker unavailable; the beat relay will publish")
            self.trip()
        return count


def _mark(engine: Engine, messages: list[OutboxMessage], now: datetime) -> None:
    """Write what publishing did to each message's row: published, or one more attempt and its error."""
    table = OutboxMessage.__table__
    published = [m.id for m in messages if m.published_at is not None]
    tried = [m for m in messages if m.published_at is None and m.attempts]
    if not published and not tried:
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
        pending = table.c.published_at.is_(None)
        if published:
            connection.execute(
                table.update()
                .where(table.c.id.in_(published), pending)
                .values(published_at=now, attempts=table.c.attempts + 1, last_error=None)
            )
        for message in tried:
            connection.execute(
                table.update()
                .where(table.c.id == message.id, pending)
                .values(attempts=table.c.attempts + 1, last_error=message.last_error)
            )


def init_app(app: Flask, publish: PublishFn | None = None) -> None:
    """Turn the after-commit nudge on for ``app`` (config ``OUTBOX_NUDGE``, default on).

    ``publish`` replaces the Celery client (tests pass a fake); passing one turns the nudge on regardless of
    the configuration.
    """
    _install_listeners()
    app.teardown_request(_publish_unhooked)
    if publish is None:
        if not app.config.get("OUTBOX_NUDGE", True):
            app.extensions.pop(EXTENSION, None)
            return
        publish = CeleryPublisher(app.config["CELERY"], timeout=NUDGE_SOCKET_TIMEOUT)
    app.extensions[EXTENSION] = Nudge(publish)


_installed = False


def _install_listeners() -> None:
    """Listen on the application's session class once per process (the apps share ``db.session``)."""
    global _installed
    if _installed:
        return
    event.listen(db.session, "after_flush", _remember_new_messages)
    event.listen(db.session, "after_commit", _publish_after_commit)
    event.listen(db.session, "after_soft_rollback", _forget_on_rollback)
    _installed = True


def _remember_new_messages(session: Session, flush_context: Any) -> None:
    # copies, not the rows: the nudge publishes them after the commit without reading them again
    copies = [
        OutboxMessage(id=obj.id, topic=obj.topic, payload=obj.payload, request_id=obj.request_id, attempts=0)
        for obj in session.new
        if isinstance(obj, OutboxMessage)
    ]
    if copies:
        # with the (sub)transaction that wrote them: a savepoint rolled back takes its messages with it
        written_in = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_PENDING, []).extend((written_in, copy) for copy in copies)


def _forget_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return
    # A rolled-back savepoint keeps the outer transaction's messages and drops its own (and those of the
    # savepoints it held).
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [(tx, m) for tx, m in pending if not _within(tx, previous_transaction)]


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def _publish_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the outer transaction may still roll back
        return
    pending: list[tuple[Any, OutboxMessage]] | None = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    messages = [message for _written_in, message in pending]
    if current_app.extensions.get(EXTENSION) is None:
        return
    if has_request_context():
        _after_the_answer(messages)
        return
    _nudge(current_app._get_current_object(), messages)  # type: ignore[attr-defined]


def _nudge(app: Flask, messages: list[OutboxMessage]) -> None:
    nudge: Nudge | None = app.extensions.get(EXTENSION)
    if nudge is None:
        return
    try:
        with app.app_context():
            nudge(db.engine, messages)
    except Exception:  # the commit succeeded: nothing may turn it into an error
        log.exception("outbox nudge failed")


def _after_the_answer(messages: list[OutboxMessage]) -> None:
    """Inside a web request, publish ``messages`` once its answer has been sent (WSGI ``close``): the
    client does not wait for the broker, the worker process publishes right after (and before it takes
    the next request)."""
    held: _Held | None = g.get(_AFTER_ANSWER)
    if held is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        held = _Held(app)

        def hook(response: Response) -> Response:
            held.hooked = True
            response.call_on_close(lambda: _nudge(app, held.messages))
            return response

        after_this_request(hook)
        setattr(g, _AFTER_ANSWER, held)
    held.messages.extend(messages)


class _Held:
    """What a request publishes after its answer; ``hooked`` once its answer carries the hook."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.messages: list[OutboxMessage] = []
        self.hooked = False


def _publish_unhooked(_error: BaseException | None) -> None:
    """At the end of a request: publish now what a commit after its answer was built left behind (its
    after-request hook never ran: a commit in a streamed body or a teardown)."""
    held: _Held | None = g.pop(_AFTER_ANSWER, None)
    if held is not None and not held.hooked and held.messages:
        _nudge(held.app, held.messages)
