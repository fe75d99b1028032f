"""Clock tasks (beat): the sweep that warns and escalates, and the daily calendar check."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from hotline.celery_app import BATCH_MARGIN, SHORT_JOB_LIMIT, SWEEP_LIMIT, periodic, periodic_batches
from hotline.db import utcnow
from hotline.sla import services, sweeps

log = logging.getLogger(__name__)

SWEEP_SOFT_LIMIT = SWEEP_LIMIT - 30


@shared_task(time_limit=SWEEP_LIMIT, soft_time_limit=SWEEP_SOFT_LIMIT)
def sweep_clocks() -> dict[str, Any] | None:
    """Warnings, overdue and escalations (DESIGN §5): each raised once whatever the number of sweeps.

    Batch after batch of :data:`~hotline.sla.sweeps.BATCH_SIZE` clocks, each committed on its own (with the
    time of its own start as ``now``), until a batch is not full or the time budget is spent; the next tick
    goes on from there.  Returns what it did (``None`` when another sweep holds the lock).
    """
    size = sweeps.BATCH_SIZE
    run = periodic_batches(
        "sweep-clocks",
        SWEEP_LIMIT,
        lambda: sweeps.sweep_clocks(utcnow(), limit=size),
        more=lambda result: result.examined >= size,
        budget=SWEEP_SOFT_LIMIT - BATCH_MARGIN,
    )
    if run is None:
        return None
    total = sweeps.SweepResult()
    for result in run.results:
        total.add(result)
    summary = {
        "batches": run.batches,
        "examined": total.examined,
        "raised": total.raised,
        "warning": total.warning,
        "overdue": total.overdue,
        "escalation_2": total.escalation_2,
        "seconds": round(run.seconds, 3),
        "out_of_time": run.out_of_time,
    }
    log.info("clock sweep: %s", summary)
    return summary


@shared_task(time_limit=SHORT_JOB_LIMIT, soft_time_limit=SHORT_JOB_LIMIT - 10)
def check_calendar() -> None:
    """Load new years from the calendar package and warn managers about a missing next year; log a year
    entered by hand that the package now knows otherwise (``flask calendar sync`` lists the days)."""

    def work() -> None:
        now = utcnow()
        services.sync_calendar_from_package(now)
        services.check_missing_years(now)
        for hand in services.hand_years_the_package_knows():
            if hand.differences:
                log.warning(
                    "%d was entered by hand and chinese-calendar now differs on %d days: "
                    "run `flask calendar sync` to see them, with --apply to take the package's",
                    hand.year,
                    len(hand.differences),
                )

    periodic("check-calendar", SHORT_JOB_LIMIT, work)
