"""The beat schedule, in one place.

Every job only sweeps the database for rows not yet handled and runs under a lock (:mod:`hotline.locks`), so a
second beat, or a run that overlaps the next tick, does no harm.  ``expires`` drops a tick that waited in the
queue longer than its period (a busy or stopped worker): the next tick does the same work.  Tasks are named
by their objects, which live with their feature.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from celery.schedules import crontab

from hotline.outbox.tasks import prune_outbox, relay_outbox
from hotline.routing.tasks import reconcile_unrouted
from hotline.sla.tasks import check_calendar, sweep_clocks
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
