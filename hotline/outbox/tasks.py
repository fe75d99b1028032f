"""Outbox tasks (beat): relay what the after-commit nudge did not publish, prune what was published."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Task, shared_task

from hotline.celery_app import RELAY_LIMIT, SHORT_JOB_LIMIT, periodic
from hotline.db import utcnow
from hotline.outbox.relay import prune_published, relay_pending

# Messages younger than this are left to the after-commit nudge, which publishes them at once.
RELAY_GRACE = timedelta(seconds=5)


@shared_task(bind=True, time_limit=RELAY_LIMIT, soft_time_limit=RELAY_LIMIT - 10)
def relay_outbox(self: Task) -> int | None:
    """Publish the outbox messages the after-commit nudge did not (broker down, process died, nudge off)."""

    def publish(task_name: str, kwargs: dict[str, Any]) -> None:
        self.app.send_task(task_name, kwargs=kwargs, retry=False)

    return periodic(
        "relay-outbox", RELAY_LIMIT, lambda: relay_pending(publish, utcnow(), older_than=RELAY_GRACE)
    )


@shared_task(time_limit=SHORT_JOB_LIMIT, soft_time_limit=SHORT_JOB_LIMIT - 10)
def prune_outbox() -> int | None:
    """Delete outbox messages published more than a week ago."""
    return periodic("prune-outbox", SHORT_JOB_LIMIT, lambda: prune_published(utcnow()))
