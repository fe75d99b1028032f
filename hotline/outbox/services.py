"""Writing to the outbox.  Relaying it to the workers is the worker side's job (DESIGN §8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hotline.extensions import db
from hotline.outbox.models import OutboxMessage

ROUTE_TICKET = "route_ticket"  # payload {"ticket_id"}: hotline.routing
SEND_EMAIL = "send_email"  # payload {"notification_id"}: hotline.notifications

# The Celery task each topic is delivered to (published by name: hotline never imports worker/).
TASKS = {
    ROUTE_TICKET: "worker.tasks.route_ticket",
    SEND_EMAIL: "worker.tasks.send_email",
}


def enqueue(
    topic: str, payload: dict[str, Any], now: datetime, ticket_id: int | None = None
) -> OutboxMessage:
    """Add a message for the workers in the caller's transaction (flushes, does not commit)."""
    message = OutboxMessage(topic=topic, payload=payload, ticket_id=ticket_id, created_at=now)
    db.session.add(message)
    db.session.flush()
    return message
