"""The beat schedule, in one place.

Every job only sweeps the database for rows not yet handled and runs under a lock (:mod:`hotline.locks`), so a
second beat, or a run that overlaps the next tick, does no harm.  ``expires`` drops a tick that waited in the
queue longer than its period (a busy or stopped worker): the next tick does the same work.  Tasks are named
by their objects, which live with their feature.

Queues follow the task (``task_routes`` in :mod:`hotline.celery_app`), for beat's ticks too: the relay and the
reconcile job go to ``routing``, so a queue full of e-mails never makes them wait until they expire; the
sweep, pruning and closing go to ``default``.  The jobs that may meet many rows work in short batches until
done (:func:`hotline.celery_app.periodic_batches`), so a tick that finds a backlog drains it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from celery.schedules import crontab

from hotline.celery_app import DEFAULT_QUEUE, ROUTING_QUEUE
from hotline.ops.tasks import heartbeat
from hotline.outbox.tasks import prune_outbox, relay_outbox
from hotline.routing.tasks import reconcile_unrouted
from hotline.sla.tasks import check_calendar, sweep_clocks
from hotline.tickets.idempotency.tasks import prune_idempotency_keys
from hotline.tickets.tasks import close_unrated_tickets


def _seconds(name: str, default: int) -> int:
    """A period from the environment (tests shorten them; production keeps the defaults)."""
    return max(1, int(os.environ.get(name, default)))


RELAY_SECONDS = _seconds("HOTLINE_RELAY_SECONDS", 10)
RECONCILE_SECONDS = _seconds("HOTLINE_RECONCILE_SECONDS", 60)
SWEEP_SECONDS = _seconds("HOTLINE_SWEEP_SECONDS", 60)

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "relay-outbox": {
        "task": relay_outbox.name,
        "schedule": timedelta(seconds=RELAY_SECONDS),
        "options": {"expires": RELAY_SECONDS},
    },
    "reconcile-unrouted": {
        "task": reconcile_unrouted.name,
        "schedule": timedelta(seconds=RECONCILE_SECONDS),
        "options": {"expires": RECONCILE_SECONDS},
    },
    "sweep-clocks": {
        "task": sweep_clocks.name,
        "schedule": timedelta(seconds=SWEEP_SECONDS),
        "options": {"expires": SWEEP_SECONDS},
    },
    "prune-idempotency-keys": {
        "task": prune_idempotency_keys.name,
        "schedule": timedelta(hours=1),
        "options": {"expires": 3600},
    },
    "prune-outbox": {
        "task": prune_outbox.name,
        "schedule": timedelta(hours=1),
        "options": {"expires": 3600},
    },
    "close-unrated": {
        "task": close_unrated_tickets.name,
        "schedule": timedelta(minutes=5),
        "options": {"expires": 300},
    },
    # Daily (Asia/Shanghai, the Celery timezone); also sent once when beat starts (worker/app.py).
    "check-calendar": {
        "task": check_calendar.name,
        "schedule": crontab(hour=7, minute=30),
        "options": {"expires": 3600},
    },
}


def heartbeat_entries(seconds: float) -> dict[str, dict[str, Any]]:
    """The heartbeat task, sent to each queue every ``seconds`` (``HEALTH_HEARTBEAT_SECONDS``, from the
    configuration, which ``worker/app.py`` reads): a queue whose workers stopped is seen by ``/readyz``."""
    return {
        f"ops-heartbeat-{queue}": {
            "task": heartbeat.name,
            "schedule": timedelta(seconds=seconds),
            "options": {"expires": seconds, "queue": queue},
        }
        for queue in (ROUTING_QUEUE, DEFAULT_QUEUE)
    }
