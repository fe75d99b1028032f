"""Routing tasks: route one request (from the outbox), and re-queue requests left unrouted (beat).

Both go to the ``routing`` queue (:data:`hotline.celery_app.QUEUE_SETTINGS`), ahead of e-mails and sweeps.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from flask import current_app

from hotline.celery_app import (
    RETRY,
    SHORT_JOB_LIMIT,
    TRANSIENT_DB_ERRORS,
    count_in_batches,
    in_transaction,
)
from hotline.db import utcnow
from hotline.routing import services as routing

log = logging.getLogger(__name__)

RECONCILE_BATCH = 200


@shared_task(autoretry_for=TRANSIENT_DB_ERRORS, **RETRY)
def route_ticket(ticket_id: int) -> str:
    """Route one request (DESIGN §6); a request already routed is skipped.  Returns the rule applied."""
    decision = in_transaction(lambda: routing.route_ticket(ticket_id, utcnow()))
    log.info("request %s: %s (%s)", ticket_id, decision.rule, decision.reason)
    return decision.rule


@shared_task(time_limit=SHORT_JOB_LIMIT, soft_time_limit=SHORT_JOB_LIMIT - 10)
def reconcile_unrouted() -> int | None:
    """Queue routing again for requests still unrouted a few minutes after submission.

    This is what recovers a routing message the broker lost, or one a killed worker process held
    unacknowledged (Redis gives it back only after the visibility timeout).  In batches, each committed
    (and so published) on its own; a request queued again has a fresh routing message, so the next batch
    meets the next requests.  Returns how many were queued.
    """
    after = timedelta(seconds=current_app.config["ROUTING_RECONCILE_SECONDS"])
    return count_in_batches(
        "reconcile-unrouted",
        SHORT_JOB_LIMIT,
        SHORT_JOB_LIMIT - 10,
        RECONCILE_BATCH,
        lambda size: routing.reconcile_unrouted(utcnow(), older_than=after, limit=size),
    )
