"""The beat schedule, in one place.

Every job only sweeps the database for rows not yet handled and runs under a lock (worker/locks.py), so a
second beat, or a run that overlaps the next tick, does no harm.  ``expires`` drops a tick that waited in the
queue longer than its period (a busy or stopped worker): the next tick does the same work.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "relay-outbox": {
        "task": "worker.tasks.relay_outbox",
        "schedule": timedelta(seconds=10),
        "options": {"expires": 10},
    },
    "reconcile-unrouted": {
        "task": "worker.tasks.reconcile_unrouted",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 60},
    },
    "sweep-clocks": {
        "task": "worker.tasks.sweep_clocks",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 60},
    },
    "close-unrated": {
        "task": "worker.tasks.close_unrated_tickets",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 300},
    },
    # Daily (Asia/Shanghai, the Celery timezone); also sent once when beat starts (worker/app.py).
    "check-calendar": {
        "task": "worker.tasks.check_calendar",
        "schedule": crontab(hour=7, minute=30),
        "options": {"expires": 3600},
    },
}
