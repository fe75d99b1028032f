"""Thin tasks: ids in, call a service, commit once (roll back on error).

Every task is idempotent: it may run twice (``acks_late`` redelivers a message whose worker died, the outbox
relays at least once).  Periodic jobs run under a lock (:mod:`worker.locks`) so two beats never overlap, and
only pick up rows not yet handled.  Nothing is scheduled with countdown/eta for later: beat sweeps the
database instead (a Redis broker would redeliver long-delayed messages).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from celery import Task, shared_task
from flask import current_app
from sqlalchemy.exc import OperationalError

from hotline.db import utcnow
from hotline.extensions import db
from hotline.outbox.relay import prune_published, relay_pending
from hotline.routing import services as routing
from hotline.tickets import services as tickets
from worker.locks import job_lock

log = logging.getLogger(__name__)

T = TypeVar("T")

# A lost connection, a deadlock, a locked SQLite file: worth another try.
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (OperationalError,)
RETRY = {"retry_backoff": True, "retry_backoff_max": 60, "retry_jitter": True, "max_retries": 5}

# Messages younger than this are left to the after-commit nudge, which publishes them at once.
RELAY_GRACE = timedelta(seconds=5)

# Lock timeouts equal the job's time limit, so a lock outlives a dead holder no longer than the job could run.
# A task with its own time limit sets its own soft limit too (the global soft limit is above these).
RELAY_LIMIT = 60
SHORT_JOB_LIMIT = 120
SWEEP_LIMIT = 5 * 60


def _commit(work: Callable[[], T]) -> T:
    """Run ``work`` in one transaction: commit on success, roll back and re-raise on error."""
    try:
        result = work()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def _periodic(name: str, timeout: int, work: Callable[[], T]) -> T | None:
    """Run a periodic job under its lock; return ``None`` at once if another run holds it."""
    with job_lock(name, timeout) as held:
        if not held:
            log.info("%s: another run holds the lock; skipped", name)
            return None
        return _commit(work)


# --------------------------------------------------------------------------- on demand (outbox topics)


@shared_task(name="worker.tasks.route_ticket", autoretry_for=TRANSIENT_DB_ERRORS, **RETRY)
def route_ticket(ticket_id: int) -> str:
    """Route one request (DESIGN §6); a request already routed is skipped.  Returns the rule applied."""
    decision = _commit(lambda: routing.route_ticket(ticket_id, utcnow()))
    log.info("request %s: %s (%s)", ticket_id, decision.rule, decision.reason)
    return decision.rule


@shared_task(
    name="worker.tasks.send_email",
    autoretry_for=(OSError, smtplib.SMTPException, *TRANSIENT_DB_ERRORS),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_email(notification_id: int) -> None:
    """Send the email of one notification; transient SMTP failures are retried with backoff."""
    from hotline.notifications.email import send_notification_email

    _commit(lambda: send_notification_email(notification_id, utcnow()))


# --------------------------------------------------------------------------- periodic (worker/schedule.py)


@shared_task(
    name="worker.tasks.relay_outbox", bind=True, time_limit=RELAY_LIMIT, soft_time_limit=RELAY_LIMIT - 10
)
def relay_outbox(self: Task) -> int | None:
    """Publish the outbox messages the after-commit nudge did not (broker down, process died, nudge off)."""

    def publish(task_name: str, kwargs: dict[str, Any]) -> None:
        self.app.send_task(task_name, kwargs=kwargs, retry=False)

    return _periodic(
        "relay-outbox", RELAY_LIMIT, lambda: relay_pending(publish, utcnow(), older_than=RELAY_GRACE)
    )


@shared_task(
    name="worker.tasks.prune_outbox", time_limit=SHORT_JOB_LIMIT, soft_time_limit=SHORT_JOB_LIMIT - 10
)
def prune_outbox() -> int | None:
    """Delete outbox messages published more than a week ago."""
    return _periodic("prune-outbox", SHORT_JOB_LIMIT, lambda: prune_published(utcnow()))


@shared_task(
    name="worker.tasks.reconcile_unrouted", time_limit=SHORT_JOB_LIMIT, soft_time_limit=SHORT_JOB_LIMIT - 10
)
def reconcile_unrouted() -> int | None:
    """Queue routing again for requests still unrouted a few minutes after submission.

    This is what recovers a routing message the broker lost, or one a killed worker process held
    unacknowledged (Redis gives it back only after the visibility timeout).
    """
    after = timedelta(seconds=current_app.config["ROUTING_RECONCILE_SECONDS"])
    return _periodic(
        "reconcile-unrouted", SHORT_JOB_LIMIT, lambda: routing.reconcile_unrouted(utcnow(), older_than=after)
    )


@shared_task(name="worker.tasks.sweep_clocks", time_limit=SWEEP_LIMIT, soft_time_limit=SWEEP_LIMIT - 30)
def sweep_clocks() -> None:
    """Warnings, overdue and escalations (DESIGN §5): each raised once whatever the number of sweeps."""
    from hotline.sla.sweeps import sweep_clocks as sweep

    result = _periodic("sweep-clocks", SWEEP_LIMIT, lambda: sweep(utcnow()))
    log.info("clock sweep: %s", result)


@shared_task(
    name="worker.tasks.check_calendar", time_limit=SHORT_JOB_LIMIT, soft_time_limit=SHORT_JOB_LIMIT - 10
)
def check_calendar() -> None:
    """Load new years from the calendar package and warn managers about a missing next year."""
    from hotline.sla.services import check_missing_years, sync_calendar_from_package

    def work() -> None:
        now = utcnow()
        sync_calendar_from_package(now)
        check_missing_years(now)

    _periodic("check-calendar", SHORT_JOB_LIMIT, work)


@shared_task(
    name="worker.tasks.close_unrated_tickets", time_limit=SWEEP_LIMIT, soft_time_limit=SWEEP_LIMIT - 30
)
def close_unrated_tickets() -> int | None:
    """Close resolved requests whose rating window has passed (DESIGN §4: closed, unrated)."""
    return _periodic("close-unrated", SWEEP_LIMIT, lambda: tickets.close_unrated(utcnow()))
