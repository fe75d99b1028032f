"""Outbox tasks (beat): relay what the after-commit nudge did not publish, prune what was published.

Both work in batches, each its own short transaction (:func:`hotline.celery_app.periodic_batches`): a backlog
of any size (an outage, a sweep that raised thousands of alerts) drains in one run, routing first, and no
batch holds its row locks for more than a moment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Task, shared_task

from hotline.celery_app import RELAY_LIMIT, SHORT_JOB_LIMIT, count_in_batches
from hotline.db import utcnow
from hotline.outbox.relay import prune_published, relay_pending

# Messages younger than this are left to the after-commit nudge, which publishes them at once.
RELAY_GRACE = timedelta(seconds=5)
RELAY_BATCH = 500
PRUNE_BATCH = 1000


@shared_task(bind=True, time_limit=RELAY_LIMIT, soft_time_limit=RELAY_LIMIT - 10)
def relay_outbox(self: Task) -> int | None:
    """Publish the outbox messages the after-commit nudge did not (broker down, process died, nudge off).

    Returns how many were published (``None`` when another relay holds the lock).
    """

    def publish(task_name: str, kwargs: dict[str, Any]) -> None:
        self.app.send_task(task_name, kwargs=kwargs, retry=False)

    return count_in_batches(
        "relay-outbox",
        RELAY_LIMIT,
        RELAY_LIMIT - 10,
        RELAY_BATCH,
        lambda size: relay_pending(publish, utcnow(), limit=size, older_than=RELAY_GRACE),
    )


@shared_task(time_limit=SHORT_JOB_LIMIT, soft_time_limit=SHORT_JOB_LIMIT - 10)
def prune_outbox() -> int | None:
    """Delete outbox messages published more than a week ago; returns how many."""
    return count_in_batches(
        "prune-outbox",
        SHORT_JOB_LIMIT,
        SHORT_JOB_LIMIT - 10,
        PRUNE_BATCH,
        lambda size: prune_published(utcnow(), limit=size),
    )
