"""Celery bound to Flask (the Flask documentation's ``celery_init_app`` pattern) and the shape of every task.

``create_app`` calls :func:`celery_init_app`, so every process that builds the application — the web, a
worker, beat, a test — has the same Celery app, configured from ``app.config["CELERY"]``, whose tasks run
inside an application context.  Tasks live with their feature (``hotline/<feature>/tasks.py``, declared with
``shared_task``); ``worker/app.py`` is only the entry point ``celery -A worker.app`` loads.

Every task is thin: ids and plain values in, one service call, one transaction (:func:`in_transaction`);
periodic jobs also hold a lock (:func:`periodic`, :mod:`hotline.locks`) so two beats never overlap.  A
periodic job that may meet many rows works in batches, each its own short transaction, under that one lock
(:func:`periodic_batches`), so it never holds row locks for long and a backlog of any size drains.

Two queues (:data:`QUEUE_SETTINGS`): ``routing`` (routing a request or a batch of them, the job that re-queues
unrouted ones, the outbox relay) and ``default`` (e-mails, digests, sweeps, pruning …).  A worker started
without ``-Q`` consumes both; in production dedicated workers run ``-Q routing``, so routing never waits
behind a burst of e-mails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any, Generic, TypeVar

from celery import Celery, Task
from flask import Flask
from kombu import Exchange, Queue
from sqlalchemy.exc import OperationalError

from hotline.extensions import db
from hotline.locks import job_lock

log = logging.getLogger(__name__)

T = TypeVar("T")

# A lost connection, a deadlock, a locked SQLite file: worth another try.
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (OperationalError,)
RETRY: dict[str, Any] = {
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}

# Lock timeouts equal the job's time limit, so a lock outlives a dead holder no longer than the job could run.
# A task with its own time limit sets its own soft limit too (the global soft limit is above these).
RELAY_LIMIT = 60
SHORT_JOB_LIMIT = 120
SWEEP_LIMIT = 5 * 60
# A batched job starts no new batch once this little of its soft time limit is left: a batch takes a second
# or two, so it ends well before the limit would interrupt it (and roll it back).
BATCH_MARGIN = 20

ROUTING_QUEUE = "routing"
DEFAULT_QUEUE = "default"
# The relay too: it is what publishes a routing message the nudge could not, so it must not wait (and expire)
# behind thousands of e-mails in the default queue; each of its batches publishes routing messages first.
ROUTING_TASKS = (
    "hotline.routing.tasks.route_ticket",
    "hotline.routing.tasks.route_tickets",
    "hotline.routing.tasks.reconcile_unrouted",
    "hotline.outbox.tasks.relay_outbox",
)
# Merged into app.config["CELERY"] (explicit settings there win), so every client built from it — the
# workers, beat, the after-commit nudge's publisher — routes the same way.
QUEUE_SETTINGS: dict[str, Any] = {
    "task_queues": (
        Queue(ROUTING_QUEUE, Exchange(ROUTING_QUEUE, type="direct"), routing_key=ROUTING_QUEUE),
        Queue(DEFAULT_QUEUE, Exchange(DEFAULT_QUEUE, type="direct"), routing_key=DEFAULT_QUEUE),
    ),
    "task_default_queue": DEFAULT_QUEUE,
    "task_default_exchange": DEFAULT_QUEUE,
    "task_default_routing_key": DEFAULT_QUEUE,
    "task_routes": {name: {"queue": ROUTING_QUEUE} for name in ROUTING_TASKS},
}

TASK_MODULES = [
    "hotline.routing.tasks",
    "hotline.notifications.tasks",
    "hotline.outbox.tasks",
    "hotline.sla.tasks",
    "hotline.tickets.tasks",
    "hotline.tickets.idempotency.tasks",
    "hotline.ops.tasks",
]


def celery_init_app(app: Flask) -> Celery:
    """The Celery app of ``app``: its settings, tasks that run in an app context, the task modules."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    app.config["CELERY"] = {**QUEUE_SETTINGS, **app.config["CELERY"]}
    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])
    celery.conf.include = TASK_MODULES
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def in_transaction(work: Callable[[], T]) -> T:
    """Run ``work`` in one transaction: commit on success, roll back and re-raise on error."""
    try:
        result = work()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def periodic(name: str, timeout: int, work: Callable[[], T]) -> T | None:
    """Run a periodic job under its lock in one transaction; ``None`` at once if another run holds it."""
    with job_lock(name, timeout) as held:
        if not held:
            log.info("%s: another run holds the lock; skipped", name)
            return None
        return in_transaction(work)


@dataclass
class BatchedRun(Generic[T]):
    """What a batched periodic job did: each batch's result, and whether it stopped for its time budget."""

    results: list[T] = field(default_factory=list)
    out_of_time: bool = False
    seconds: float = 0.0

    @property
    def batches(self) -> int:
        return len(self.results)


def count_in_batches(
    name: str, timeout: int, soft_limit: int, size: int, batch: Callable[[int], int]
) -> int | None:
    """A periodic job whose every batch handles at most ``size`` rows and says how many (``batch(size)``):
    batch after batch while one is full, until the task's ``soft_limit`` is near (:func:`periodic_batches`).
    Returns the total, or ``None`` when another run holds the lock."""
    run = periodic_batches(
        name, timeout, lambda: batch(size), more=lambda n: n >= size, budget=soft_limit - BATCH_MARGIN
    )
    return None if run is None else sum(run.results)


def periodic_batches(
    name: str,
    timeout: int,
    batch: Callable[[], T],
    *,
    more: Callable[[T], bool],
    budget: float,
    clock: Callable[[], float] | None = None,
) -> BatchedRun[T] | None:
    """Run a periodic job as a series of short transactions under one lock; ``None`` if another run holds it.

    ``batch`` does one bounded piece of work (it locks its rows with ``SKIP LOCKED`` where it locks any)
    and is committed on its own (:func:`in_transaction`): its locks last one batch, and what it did stays
    committed whatever happens to a later batch.  The job goes on while ``more(result)`` says the batch
    was full, and starts no batch once ``budget`` seconds have passed: it stops cleanly, and the next tick
    takes up what is left.  An error rolls back the batch in hand and is raised (earlier batches stay).
    ``clock`` (seconds) defaults to :func:`time.monotonic`.
    """
    clock = clock or monotonic
    with job_lock(name, timeout) as held:
        if not held:
            log.info("%s: another run holds the lock; skipped", name)
            return None
        started = clock()
        run: BatchedRun[T] = BatchedRun()
        try:
            while True:
                result = in_transaction(batch)
                run.results.append(result)
                if not more(result):
                    break
                if clock() - started >= budget:
                    run.out_of_time = True
                    log.warning(
                        "%s: time budget of %.0f s used after %d batches; the next run goes on",
                        name,
                        budget,
                        run.batches,
                    )
                    break
        finally:
            run.seconds = clock() - started
        return run
