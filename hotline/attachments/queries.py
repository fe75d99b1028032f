"""Which attachments a user may see: those of the requests it may see, less the internal ones for an
enterprise (as the timeline, :func:`hotline.tickets.queries.timeline`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from hotline.attachments.models import Attachment
from hotline.auth.models import Role, User
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.tickets.models import Ticket
from hotline.tickets.queries import _not_found_message, get_visible_ticket


def sees_internal(user: User) -> bool:
    return user.role != Role.ENTERPRISE


def _of_tickets(ticket_ids: list[int], *, include_internal: bool) -> Select[Any]:
    query = select(Attachment).where(Attachment.ticket_id.in_(ticket_ids))
    if not include_internal:
        query = query.where(Attachment.internal.is_(False))
    return query.order_by(Attachment.ticket_id, Attachment.id)


def attachments_by_ticket(ticket_ids: list[int], *, include_internal: bool) -> dict[int, list[Attachment]]:
    """The attachments of these requests, by request, in one query (none for an empty list)."""
    found: dict[int, list[Attachment]] = {i: [] for i in ticket_ids}
    if not ticket_ids:
        return found
    for attachment in db.session.scalars(_of_tickets(ticket_ids, include_internal=include_internal)):
        found[attachment.ticket_id].append(attachment)
    return found


def visible_attachments(ticket: Ticket, user: User) -> list[Attachment]:
    return attachments_by_ticket([ticket.id], include_internal=sees_internal(user))[ticket.id]


def get_visible_attachment(user: User, number: str, attachment_id: int) -> tuple[Ticket, Attachment]:
    """The request with this number and its attachment ``attachment_id``, if ``user`` may see both; the
    request's :class:`NotFound` otherwise (the same answer for a file of another's request)."""
    ticket = get_visible_ticket(user, number)
    attachment = db.session.get(Attachment, attachment_id) if 0 < attachment_id < 2**63 else None
    if (
        attachment is None
        or attachment.ticket_id != ticket.id
        or (attachment.internal and not sees_internal(user))
    ):
        raise NotFound(_not_found_message())
    return ticket, attachment
