"""Celery bound to Flask (the Flask documentation's ``celery_init_app`` pattern) and the shape of every task.

``create_app`` calls :func:`celery_init_app`, so every process that builds the application — the web, a
worker, beat, a test — has the same Celery app, configured from ``app.config["CELERY"]``, whose tasks run
inside an application context.  Tasks live with their feature (``hotline/<feature>/tasks.py``, declared with
``shared_task``); ``worker/app.py`` is only the entry point ``celery -A worker.app`` loads.

Every task is thin: ids and plain values in, one service call, one transaction (:func:`in_transaction`);
periodic jobs also hold a lock (:func:`periodic`, :mod:`hotline.locks`) so two beats never overlap.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Celery, Task
from flask import Flask
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

TASK_MODULES = [
    "hotline.routing.tasks",
    "hotline.notifications.tasks",
    "hotline.outbox.tasks",
    "hotline.sla.tasks",
    "hotline.tickets.tasks",
]


def ensure_broker_folders(settings: dict[str, Any]) -> None:
    """kombu's filesystem transport needs its folders to exist before the first publish."""
    options = settings.get("broker_transport_options") or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)


def celery_init_app(app: Flask) -> Celery:
    """The Celery app of ``app``: its settings, tasks that run in an app context, the task modules."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    ensure_broker_folders(app.config["CELERY"])
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
