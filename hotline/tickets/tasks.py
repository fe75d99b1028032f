"""Lifecycle tasks (beat): close resolved requests whose rating window has passed."""

from __future__ import annotations

from celery import shared_task

from hotline.celery_app import SWEEP_LIMIT, periodic
from hotline.db import utcnow
from hotline.tickets.services import close_unrated


@shared_task(time_limit=SWEEP_LIMIT, soft_time_limit=SWEEP_LIMIT - 30)
def close_unrated_tickets() -> int | None:
    """Close resolved requests whose rating window has passed (DESIGN §4: closed, unrated)."""
    return periodic("close-unrated", SWEEP_LIMIT, lambda: close_unrated(utcnow()))
