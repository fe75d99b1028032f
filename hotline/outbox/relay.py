"""Relaying the outbox to the broker (DESIGN §8).

A beat job calls :func:`relay_pending` every few seconds for whatever the after-commit nudge
(:mod:`hotline.outbox.publisher`) did not publish: the broker was down, the process died between commit and
publish, or nudging is off.  Delivery is at least once — a message can be published twice (published, then
the marking transaction lost) — which the tasks tolerate: each is idempotent.

Routing comes first: every pending routing message is published before any other (e-mails, …), each group
oldest first, so a backlog of thousands of e-mails never delays routing a request.  Routing messages go
several to a task (``route_tickets``, up to :data:`hotline.routing.tasks.ROUTE_BATCH` requests): a backlog
costs the workers one transaction per batch rather than one per request.  The relay task runs
batch after batch (:func:`hotline.celery_app.periodic_batches`) until nothing is left or its time is up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from kombu.exceptions import EncodeError
from sqlalchemy import delete, select

from hotline import requestid
from hotline.extensions import db
from hotline.outbox import services as outbox_topics
from hotline.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

# publish(task_name, kwargs): send one task by name; raises when the broker does not take it.
PublishFn = Callable[[str, dict[str, Any]], None]

ERROR_MAX = 1000
# Published before every other topic: a request waiting for its liaison matters more than an e-mail.
FIRST_TOPICS = (outbox_topics.ROUTE_TICKET,)


def is_message_failure(exc: BaseException) -> bool:
    """A failure of this one message (its payload does not serialise), not of the broker.

    Anything else is taken as the broker or the network failing: publishing stops until the next run.
    """
    return isinstance(exc, EncodeError | TypeError | ValueError)


def relay_pending(
    publish: PublishFn, now: datetime, limit: int = 500, older_than: timedelta | None = None
) -> int:
    """Publish up to ``limit`` unpublished outbox messages, routing first, each group oldest first; returns
    how many were published.

    ``older_than`` leaves alone messages younger than that (the after-commit nudge is about to publish them).
    Rows are locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two relays never take the same row.
    Each row is marked published (``published_at``) or gets ``attempts``/``last_error``; the batch stops at
    the first broker failure (the rest would fail too).  Flushes, does not commit.
    """
    query = select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
    if older_than is not None:
        query = query.where(OutboxMessage.created_at <= now - older_than)
    query = query.order_by(OutboxMessage.id).with_for_update(skip_locked=True)
    rows = list(db.session.scalars(query.where(OutboxMessage.topic.in_(FIRST_TOPICS)).limit(limit)))
    if len(rows) < limit:
        rest = query.where(OutboxMessage.topic.not_in(FIRST_TOPICS)).limit(limit - len(rows))
        rows.extend(db.session.scalars(rest))
    published = publish_rows(rows, publish, now)
    db.session.flush()
    if published or rows:
        log.info("outbox relay: %d of %d pending messages published", published, len(rows))
    return published


def publish_rows(
    rows: Sequence[OutboxMessage],
    publish: PublishFn,
    now: datetime,
    out_of_time: Callable[[], bool] | None = None,
) -> int:
    """Publish ``rows`` and mark each; stop at the first broker failure or once ``out_of_time()``.

    Routing messages go first, the rest after, each in the order given.  Messages of a topic with a batch
    form (:class:`hotline.outbox.services.Batching`: routing) go several to a task, one publish for up to
    its ``size`` of them; a lone one goes to the topic's own task.  Does not flush: the caller owns the
    session.  A message that fails on its own (an unknown topic, a payload the serializer refuses) keeps its
    error and does not hold back the ones after it (nor the others of its batch: they are then published
    one by one).
    """
    published = 0
    ordered = sorted(rows, key=lambda r: r.topic not in FIRST_TOPICS)  # stable: keeps the order given
    for group in _groups(ordered):
        if out_of_time is not None and out_of_time():
            break
        if len(group) > 1:
            count, broker_down = _publish_batch(group, publish, now)
        else:
            count, broker_down = _publish_one(group[0], publish, now)
        published += count
        if broker_down:
            break
    return published


def _groups(rows: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
    """``rows`` in order, cut into the lists published together: runs of one batched topic (up to its size,
    payloads holding the batched field), every other message alone."""
    groups: list[list[OutboxMessage]] = []
    for row in rows:
        batching = outbox_topics.BATCHES.get(row.topic)
        if batching is None or batching.field not in (row.payload or {}):
            groups.append([row])
            continue
        last = groups[-1] if groups else None
        if (
            last is not None
            and last[0].topic == row.topic
            and len(last) < batching.size
            and batching.field in (last[0].payload or {})
        ):
            last.append(row)
        else:
            groups.append([row])
    return groups


def _publish_one(row: OutboxMessage, publish: PublishFn, now: datetime) -> tuple[int, bool]:
    """Publish one message; returns (published, whether the broker failed)."""
    row.attempts = (row.attempts or 0) + 1
    task_name = outbox_topics.TASKS.get(row.topic)
    if task_name is None:
        row.last_error = f"unknown topic {row.topic!r}"
        log.error("outbox message %s has an unknown topic %r", row.id, row.topic)
        return 0, False
    try:
        with requestid.acting_as(row.request_id):  # the task's log lines name the request that wrote it
            publish(task_name, dict(row.payload or {}))
    except Exception as exc:
        row.last_error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        if is_message_failure(exc):
            log.exception("outbox: message %s could not be published", row.id)
            return 0, False
        log.warning("outbox: broker refused message %s (%s); will retry", row.id, row.last_error)
        return 0, True
    row.published_at = now
    row.last_error = None
    return 1, False


def _publish_batch(group: list[OutboxMessage], publish: PublishFn, now: datetime) -> tuple[int, bool]:
    """Publish several messages of one batched topic as one task; returns (published, broker failed).

    A batch the serializer refuses is published again one message at a time, so that only the faulty
    message keeps the error.
    """
    batching = outbox_topics.BATCHES[group[0].topic]
    values = [(row.payload or {})[batching.field] for row in group]
    request_ids = {row.request_id for row in group}
    # the batch's log lines name the web request that wrote them when they all come from one
    request_id = request_ids.pop() if len(request_ids) == 1 else None
    try:
        with requestid.acting_as(request_id):
            publish(batching.task_name, {batching.argument: values})
    except Exception as exc:
        if is_message_failure(exc):
            log.warning("outbox: a batch of %d could not be published; one by one", len(group))
            published = 0
            for row in group:
                count, broker_down = _publish_one(row, publish, now)
                published += count
                if broker_down:
                    return published, True
            return published, False
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        for row in group:
            row.attempts = (row.attempts or 0) + 1
            row.last_error = error
        log.warning("outbox: broker refused a batch of %d messages (%s); will retry", len(group), error)
        return 0, True
    for row in group:
        row.attempts = (row.attempts or 0) + 1
        row.published_at = now
        row.last_error = None
    return len(group), False


def prune_published(now: datetime, keep: timedelta = timedelta(days=7), limit: int = 1000) -> int:
    """Delete published messages older than ``keep`` (at most ``limit`` a call); returns how many.

    Published rows have done their work; keeping a week of them helps to trace a delivery.
    """
    old = (
        select(OutboxMessage.id)
        .where(OutboxMessage.published_at.is_not(None), OutboxMessage.published_at < now - keep)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    ids = list(db.session.scalars(old))
    if ids:
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
    return len(ids)
