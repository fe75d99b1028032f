"""The entry point of the worker and beat processes: ``celery -A worker.app``.

The Celery app itself is made by ``create_app`` (:func:`hotline.celery_app.celery_init_app`); the tasks live
with their features.  This module adds what only the worker processes need: the beat schedule, two signals
and the health hooks (heartbeats, task counts, JSON logs).  Both the embedded run (deploy/supervisord.conf)
and production (docker-compose.yml) run routing workers, workers for the rest and exactly one beat::

    celery -A worker.app worker -Q routing --loglevel=info
    celery -A worker.app worker -Q default --loglevel=info
    celery -A worker.app beat --loglevel=info

A worker started without ``-Q`` serves both queues (the integration tests start them so).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_process_init

from hotline import create_app
from hotline.extensions import db
from hotline.ops import worker as ops_worker
from hotline.sla.tasks import check_calendar
from worker.schedule import BEAT_SCHEDULE, heartbeat_entries

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


# Health (hotline/ops, issue 8): the worker's heartbeat (a thread of its main process), task counts, the last
# successful sweep and JSON logs (signals); beat's heartbeat from its scheduler (worker/beat.py, the default
# here, so no --scheduler option is needed); and the heartbeat task beat sends to each queue, which proves
# each queue's tasks are taken.
ops_worker.install(flask_app)
app.conf.beat_scheduler = "worker.beat:HeartbeatScheduler"
app.conf.beat_schedule = {
    **app.conf.beat_schedule,
    **heartbeat_entries(float(flask_app.config["HEALTH_HEARTBEAT_SECONDS"])),
}
