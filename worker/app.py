"""The Celery application, bound to the Flask app so that every task runs in an app context.

Settings come from ``hotline.config`` (``REDIS_URL``, ``DATABASE_URL``, ``HOTLINE_INSTANCE`` in the
environment).  Embedded default, a worker with beat inside it::

    celery -A worker.app worker -B --loglevel=info

Production, any number of workers and exactly one beat::

    celery -A worker.app worker --loglevel=info
    celery -A worker.app beat --loglevel=info
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, Task
from celery.signals import beat_init, worker_process_init
from flask import Flask

from hotline import create_app
from hotline.extensions import db
from worker.schedule import BEAT_SCHEDULE

log = logging.getLogger(__name__)


def _ensure_broker_folders(settings: dict[str, Any]) -> None:
    """kombu's filesystem transport needs its folders to exist before the first publish."""
    options = settings.get("broker_transport_options") or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)


def make_celery(flask_app: Flask) -> Celery:
    _ensure_broker_folders(flask_app.config["CELERY"])

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(flask_app.name, task_cls=FlaskTask)
    celery.config_from_object(flask_app.config["CELERY"])
    celery.conf.beat_schedule = BEAT_SCHEDULE
    celery.conf.include = ["worker.tasks"]
    celery.set_default()
    flask_app.extensions["celery"] = celery
    return celery


flask_app = create_app()
app = make_celery(flask_app)


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    """A forked worker child must not share the parent's database connections."""
    with flask_app.app_context():
        db.engine.dispose(close=False)


@beat_init.connect  # sent by a standalone beat and by the one embedded in a worker (-B)
def _check_calendar_on_start(**_: Any) -> None:
    """Check the working-day calendar when beat starts, not only at the daily tick."""
    try:
        app.send_task("worker.tasks.check_calendar")
    except Exception:  # the broker is down: the daily tick will do it
        log.warning("could not queue the calendar check at beat start", exc_info=True)
