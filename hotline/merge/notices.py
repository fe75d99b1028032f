"""What the enterprise of a merged request is told (并单, issue 13): that its request went into the main one,
and, each time the main request is resolved, that the answer is there (shown on its own request's page)."""

from __future__ import annotations

from sqlalchemy import select

from hotline.auth.models import Role, User
from hotline.extensions import db
from hotline.notifications.models import NotificationKind
from hotline.notifications.services import notify
from hotline.tickets.events import TicketChanged
from hotline.tickets.models import EventKind, Ticket, TicketState


def _contacts(ticket: Ticket) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.role == Role.ENTERPRISE,
                User.enterprise_id == ticket.enterprise_id,
                User.active.is_(True),
            )
        )
    )


def on_event(change: TicketChanged) -> None:
    """MERGED on a merged request: its enterprise is told where it went.  RESOLVED on a main request: the
    enterprises of the requests merged into it are told it is answered."""
    from hotline.merge.services import merged_into

    event, ticket = change.event, change.ticket
    if event.kind == EventKind.MERGED and ticket.state == TicketState.MERGED:
        main_number = str(event.payload.get("into") or "")
        params = {"number": ticket.number, "title": ticket.title, "main": main_number}
        notify(_contacts(ticket), NotificationKind.MERGED, change.now, ticket=ticket, params=params)
    elif event.kind == EventKind.RESOLVED:
        for merged in merged_into(ticket):
            params = {"number": merged.number, "title": merged.title, "main": ticket.number}
            notify(
                _contacts(merged), NotificationKind.MERGED_ANSWERED, change.now, ticket=merged, params=params
            )
