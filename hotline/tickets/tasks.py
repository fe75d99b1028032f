"""Lifecycle tasks (beat): close resolved requests whose rating window has passed — when the follow-up calls
are off.  With them on (``FOLLOWUP_AFTER_WORKING_DAYS`` > 0, the default) an unrated request waits in the
managers' 回访 queue instead, and only its last unanswered call closes it unrated (:mod:`hotline.followup`):
a request is never closed unrated without anyone having tried to reach the enterprise."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from hotline.celery_app import SWEEP_LIMIT, count_in_batches
from hotline.db import utcnow
from hotline.tickets.services import close_unrated

# Requests closed per transaction: each batch locks its requests (SKIP LOCKED) for a moment only, so a
# rating given right now never waits for the whole job.
CLOSE_BATCH = 100


@shared_task(time_limit=SWEEP_LIMIT, soft_time_limit=SWEEP_LIMIT - 30)
def close_unrated_tickets() -> int | None:
    """Close resolved requests whose rating window has passed (DESIGN §4: closed, unrated); returns how many.

    In batches, each committed on its own, until none is left or the time budget is spent.  None closed
    (0) while the follow-up calls are on.
    """
    if int(current_app.config["FOLLOWUP_AFTER_WORKING_DAYS"]) > 0:
        return 0
    return count_in_batches(
        "close-unrated",
        SWEEP_LIMIT,
        SWEEP_LIMIT - 30,
        CLOSE_BATCH,
        lambda size: close_unrated(utcnow(), limit=size),
    )
