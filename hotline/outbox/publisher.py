"""Publishing outbox messages right after the transaction that wrote them commits (DESIGN §8).

``init_app`` installs the *nudge*: SQLAlchemy session events remember the :class:`OutboxMessage` rows a
transaction adds and, once it has committed, publish them by task name through a small Celery client
(``hotline`` never imports ``worker/``) and mark them published in a new, short transaction.

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
from typing import Any

from celery import Celery
from flask import Flask, current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction

from hotline.db import utcnow
from hotline.extensions import db
from hotline.outbox.models import OutboxMessage
from hotline.outbox.relay import PublishFn, publish_rows

log = logging.getLogger(__name__)

EXTENSION = "hotline_outbox_nudge"
_PENDING = "hotline_outbox_pending_ids"  # key in Session.info

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

    def __call__(self, engine: Engine, ids: list[int]) -> int:
        """Publish the still-unpublished messages among ``ids``; returns how many.  Never raises."""
        if not ids:
            return 0
        if self.breaker_open:
            log.debug("outbox nudge skipped (broker failed recently): %d left to the relay", len(ids))
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
            with Session(bind=engine) as session, session.begin():
                rows = session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.published_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .with_for_update(skip_locked=True)
                ).all()
                count = publish_rows(rows, publish, utcnow(), out_of_time=lambda: self.clock() > deadline)
        except Exception:
            log.warning("outbox nudge failed; the beat relay will publish", exc_info=True)
            self.trip()
            return 0
        if failed:
            log.warning("outbox nudge: broker unavailable; the beat relay will publish")
            self.trip()
        return count


def init_app(app: Flask, publish: PublishFn | None = None) -> None:
    """Turn the after-commit nudge on for ``app`` (config ``OUTBOX_NUDGE``, default on).

    ``publish`` replaces the Celery client (tests pass a fake); passing one turns the nudge on regardless of
    the configuration.
    """
    _install_listeners()
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
    ids = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if ids:
        session.info.setdefault(_PENDING, []).extend(ids)


def _forget_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back savepoint keeps the outer transaction's messages (ids that vanished are simply not found).
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


def _publish_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the outer transaction may still roll back
        return
    ids: list[int] | None = session.info.pop(_PENDING, None)
    if not ids or not has_app_context():
        return
    nudge: Nudge | None = current_app.extensions.get(EXTENSION)
    if nudge is None:
        return
    try:
        nudge(db.engine, ids)
    except Exception:  # the commit succeeded: nothing may turn it into an error
        log.exception("outbox nudge failed")
