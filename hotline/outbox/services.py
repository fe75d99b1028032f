"""Writing to the outbox, and which Celery task each topic is delivered to (DESIGN §8).

Relaying the rows to the broker is :mod:`hotline.outbox.relay` (beat) and :mod:`hotline.outbox.publisher`
(right after commit).  Each feature that hands work to the workers registers its topic's task from its own
``init_app`` (:func:`register_topic`), with the task object's name: no task name is typed in twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hotline import requestid
from hotline.extensions import db
from hotline.outbox.models import OutboxMessage

ROUTE_TICKET = "route_ticket"  # payload {"ticket_id"}: hotline.routing
SEND_EMAIL = "send_email"  # payload {"notification_id"}: hotline.notifications

# topic → the name of the Celery task that handles it (filled by the features' init_app)
TASKS: dict[str, str] = {}


@dataclass(frozen=True)
class Batching:
    """How the relay delivers several pending messages of one topic as one task.

    Up to ``size`` messages in a row go to the task ``task_name`` as one list argument, ``argument``, of
    their payloads' ``field`` (routing: ``{"ticket_id": 7}``, … → ``route_tickets(ticket_ids=[7, …])``).
    A single message still goes to the topic's own task.
    """

    task_name: str
    argument: str
    field: str
    size: int


# topic → its batching, for the topics whose task has a batch form
BATCHES: dict[str, Batching] = {}


def register_topic(topic: str, task_name: str, batch: Batching | None = None) -> None:
    """Deliver the outbox messages of ``topic`` to the task called ``task_name`` (several at once by
    ``batch``, when given)."""
    TASKS[topic] = task_name
    if batch is not None:
        BATCHES[topic] = batch
    else:
        BATCHES.pop(topic, None)


def enqueue(
    topic: str, payload: dict[str, Any], now: datetime, ticket_id: int | None = None, *, flush: bool = True
) -> OutboxMessage:
    """Add a message for the workers in the caller's transaction (flushes unless told not to: a caller adding
    many flushes once; never commits)."""
    message = OutboxMessage(
        topic=topic, payload=payload, ticket_id=ticket_id, created_at=now, request_id=requestid.current()
    )
    db.session.add(message)
    if flush:
        db.session.flush()
    return message
