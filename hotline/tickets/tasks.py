"""Lifecycle tasks (beat): close resolved requests whose rating window has passed."""

from __future__ import annotations

from celery import shared_task

from hotline.celery_app import BATCH_MARGIN, SWEEP_LIMIT, periodic_batches
from hotline.db import utcnow
from hotline.tickets.services import close_unrated

# Requests closed per transaction: each batch locks its requests (SKIP LOCKED) for a moment only, so a
# rating given right now never waits for the whole job.
CLOSE_BATCH = 100


@shared_task(time_limit=SWEEP_LIMIT, soft_time_limit=SWEEP_LIMIT - 30)
def close_unrated_tickets() -> int | None:
    """Close resolved requests whose rating window has passed (DESIGN §4: closed, unrated); returns how many.

    In batches, each committed on its own, until none is left or the time budget is spent.
    """
    run = periodic_batches(
        "close-unrated",
        SWEEP_LIMIT,
        lambda: close_unrated(utcnow(), limit=CLOSE_BATCH),
        more=lambda closed: closed >= CLOSE_BATCH,
        budget=SWEEP_LIMIT - 30 - BATCH_MARGIN,
    )
    return None if run is None else sum(run.results)
