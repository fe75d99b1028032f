"""The entry point of the worker and beat processes: ``celery -A worker.app``.

The Celery app itself is made by ``create_app`` (:func:`hotline.celery_app.celery_init_app`); the tasks live
with their features.  This module adds what only the worker processes need: the beat schedule and two
signals.  Embedded default, a worker with beat inside it::

    celery -A worker.app worker -B --loglevel=info

Production, any number of workers and exactly one beat::

    celery -A worker.app worker --loglevel=info
    celery -A worker.app beat --loglevel=info
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_process_init

from hotline import create_app
from hotline.extensions import db
from hotline.sla.tasks import check_calendar
from worker.schedule import BEAT_SCHEDULE

log = logging.getLogger(__name__)

flask_app = create_app()
app: Celery = flask_app.extensions["celery"]
app.conf.beat_schedule = BEAT_SCHEDULE


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    """A forked worker child must not share the parent's database connections."""
    with flask_app.app_context():
        db.engine.dispose(close=False)


@beat_init.connect  # sent by a standalone beat and by the one embedded in a worker (-B)
def _check_calendar_on_start(**_: Any) -> None:
    """Check the working-day calendar when beat starts, not only at the daily tick."""
    try:
        check_calendar.apply_async(retry=False)
    except Exception:  # the broker is down: the daily tick will do it
        log.warning("could not queue the calendar check at beat start", exc_info=True)
