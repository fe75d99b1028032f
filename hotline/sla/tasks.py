"""Clock tasks (beat): the sweep that warns and escalates, and the daily calendar check."""

from __future__ import annotations

import logging

from celery import shared_task

from hotline.celery_app import SHORT_JOB_LIMIT, SWEEP_LIMIT, periodic
from hotline.db import utcnow
from hotline.sla import services, sweeps

log = logging.getLogger(__name__)


@shared_task(time_limit=SWEEP_LIMIT, soft_time_limit=SWEEP_LIMIT - 30)
def sweep_clocks() -> None:
    """Warnings, overdue and escalations (DESIGN §5): each raised once whatever the number of sweeps."""
    result = periodic("sweep-clocks", SWEEP_LIMIT, lambda: sweeps.sweep_clocks(utcnow()))
    log.info("clock sweep: %s", result)


@shared_task(time_limit=SHORT_JOB_LIMIT, soft_time_limit=SHORT_JOB_LIMIT - 10)
def check_calendar() -> None:
    """Load new years from the calendar package and warn managers about a missing next year."""

    def work() -> None:
        now = utcnow()
        services.sync_calendar_from_package(now)
        services.check_missing_years(now)

    periodic("check-calendar", SHORT_JOB_LIMIT, work)
