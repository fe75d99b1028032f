"""Idempotency tasks (beat): forget the keys older than the replay window."""

from __future__ import annotations

from celery import shared_task

from hotline.celery_app import SHORT_JOB_LIMIT, periodic
from hotline.db import utcnow
from hotline.tickets.idempotency.services import prune_expired


@shared_task(time_limit=SHORT_JOB_LIMIT, soft_time_limit=SHORT_JOB_LIMIT - 10)
def prune_idempotency_keys() -> int | None:
    """Delete idempotency keys and form tokens claimed more than 24 hours ago."""
    return periodic("prune-idempotency-keys", SHORT_JOB_LIMIT, lambda: prune_expired(utcnow()))
