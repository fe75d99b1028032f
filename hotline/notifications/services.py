"""Notifications: who is told what, in the app and by email (through the outbox)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from hotline.auth.models import User
from hotline.extensions import db
from hotline.notifications.models import Notification, NotificationKind
from hotline.outbox import services as outbox
from hotline.tickets.models import Ticket, TicketEvent


def notify(
    users: Iterable[User],
    kind: NotificationKind,
    now: datetime,
    *,
    ticket: Ticket | None = None,
    params: dict[str, Any] | None = None,
) -> list[Notification]:
    """One notification per distinct active user; an email is queued (outbox) for users with an address."""
    created: list[Notification] = []
    seen: set[int] = set()
    for user in users:
        if user.id in seen or not user.active:
            continue
        seen.add(user.id)
        row = Notification(
            user_id=user.id,
            ticket_id=ticket.id if ticket is not None else None,
            kind=kind,
            params=params or {},
            created_at=now,
            email_state="pending" if user.email else None,
        )
        db.session.add(row)
        created.append(row)
    if created:
        db.session.flush()
        for row in created:
            if row.email_state == "pending":
                outbox.enqueue(outbox.SEND_EMAIL, {"notification_id": row.id}, now, ticket_id=row.ticket_id)
    return created


def on_ticket_event(event: TicketEvent, now: datetime) -> list[Notification]:
    """Tell the right people about a lifecycle event (called for every event the ticket services append)."""
    return []
