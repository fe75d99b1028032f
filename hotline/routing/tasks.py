"""Routing tasks: route one request or a batch of them (from the outbox), and re-queue requests left
unrouted (beat).

All go to the ``routing`` queue (:data:`hotline.celery_app.QUEUE_SETTINGS`), ahead of e-mails and sweeps.
The outbox relay delivers a backlog of routing messages :data:`ROUTE_BATCH` to a :func:`route_tickets` task
(:class:`hotline.outbox.services.Batching`); a lone message, as the after-commit nudge of one submission
sends it, goes to :func:`route_ticket`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
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
# Requests routed in one transaction by route_tickets: enough to spread a task's fixed costs (the task, the
# transaction, the commit, the per-flush hooks) thin, few enough that the rows are locked for a few dozen
# milliseconds and that a backlog still spreads over every worker.
ROUTE_BATCH = 25


@shared_task(autoretry_for=TRANSIENT_DB_ERRORS, **RETRY)
def route_ticket(ticket_id: int) -> str:
    """Route one request (DESIGN §6); a request already routed is skipped.  Returns the rule applied."""
    decision = in_transaction(lambda: routing.route_ticket(ticket_id, utcnow()))
    log.info("request %s: %s (%s)", ticket_id, decision.rule, decision.reason)
    return decision.rule


@shared_task(autoretry_for=TRANSIENT_DB_ERRORS, **RETRY)
def route_tickets(ticket_ids: list[int]) -> dict[str, int]:
    """Route several requests (DESIGN §6) in one transaction; requests already routed are skipped.

    If the batch fails, it is rolled back and each request is routed again in a transaction of its own, so
    one request that cannot be routed holds back none of the others; the first error is then raised (a
    transient one retries the whole task with backoff, and what was routed meanwhile is skipped).  Returns
    how many requests each rule took.
    """
    ids = [int(ticket_id) for ticket_id in ticket_ids]
    try:
        decisions = in_transaction(lambda: routing.route_tickets(ids, utcnow()))
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        log.warning("routing a batch of %d requests failed; one at a time", len(ids), exc_info=True)
        decisions, error = _one_at_a_time(ids)
        if error is not None:
            raise error from None
    rules: dict[str, int] = {}
    for ticket_id, decision in zip(sorted(set(ids)), decisions, strict=True):
        log.info("request %s: %s (%s)", ticket_id, decision.rule, decision.reason)
        rules[decision.rule] = rules.get(decision.rule, 0) + 1
    return rules


def _route_one(ticket_id: int) -> routing.RoutingDecision:
    return routing.route_ticket(ticket_id, utcnow())


def _one_at_a_time(ids: list[int]) -> tuple[list[routing.RoutingDecision], Exception | None]:
    """Route each request in its own transaction; the decisions of those routed and the first error."""
    decisions: list[routing.RoutingDecision] = []
    first_error: Exception | None = None
    for ticket_id in sorted(set(ids)):
        try:
            decisions.append(in_transaction(partial(_route_one, ticket_id)))
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            log.exception("request %s could not be routed", ticket_id)
            first_error = first_error or exc
    return decisions, first_error


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
