"""Linked requests (related, not merged): the services behind the lifecycle rows ``link`` and ``unlink``.

Any staff member who may see both requests links them; one row per pair (:class:`TicketLink`), an internal
LINKED (UNLINKED) event on both.  Each page lists the linked requests its reader may see.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from hotline.auth.models import User
from hotline.errors import NotFound, ValidationFailed
from hotline.extensions import db
from hotline.merge.models import TicketLink
from hotline.text import has_control_characters
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket
from hotline.tickets.queries import get_visible_ticket, visible_tickets

LINKS_MAX = 50  # per request


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"other": message})


def _other(ticket: Ticket, actor: User, other: str | None) -> Ticket:
    number = (other or "").strip().upper()
    if not number:
        raise _refuse(_("Enter the number of the related request."))
    if number == ticket.number:
        raise _refuse(_("A request cannot be linked to itself."))
    if has_control_characters(number, multiline=False) or len(number) > 20:
        raise _refuse(_("No request with this number that you may see."))
    try:
        return get_visible_ticket(actor, number, for_update=True)
    except NotFound:
        raise _refuse(_("No request with this number that you may see.")) from None


def _pair(a: Ticket, b: Ticket) -> tuple[int, int]:
    return (a.id, b.id) if a.id < b.id else (b.id, a.id)


def _count(ticket_id: int) -> int:
    condition = or_(TicketLink.ticket_id == ticket_id, TicketLink.linked_id == ticket_id)
    return int(db.session.scalar(select(func.count()).select_from(TicketLink).where(condition)) or 0)


def link(ticket_id: int, actor: User, other: str, now: datetime) -> Ticket:
    ticket = tickets.begin("link", ticket_id, actor)
    related = _other(ticket, actor, other)
    first, second = _pair(ticket, related)
    if db.session.get(TicketLink, (first, second)) is not None:
        raise _refuse(_("The requests are already linked."))
    if max(_count(ticket.id), _count(related.id)) >= LINKS_MAX:
        raise _refuse(_("A request can be linked to at most %(n)d others.", n=LINKS_MAX))
    db.session.add(TicketLink(ticket_id=first, linked_id=second, created_by_id=actor.id, created_at=now))
    tickets.record_event(ticket, actor, EventKind.LINKED, now, payload={"other": related.number})
    tickets.record_event(related, actor, EventKind.LINKED, now, payload={"other": ticket.number})
    return ticket


def unlink(ticket_id: int, actor: User, other: str, now: datetime) -> Ticket:
    ticket = tickets.begin("unlink", ticket_id, actor)
    related = _other(ticket, actor, other)
    row = db.session.get(TicketLink, _pair(ticket, related))
    if row is None:
        raise _refuse(_("The requests are not linked."))
    db.session.delete(row)
    tickets.record_event(ticket, actor, EventKind.UNLINKED, now, payload={"other": related.number})
    tickets.record_event(related, actor, EventKind.UNLINKED, now, payload={"other": ticket.number})
    return ticket


def has_links(ticket: Ticket, user: User) -> bool:
    return _count(ticket.id) > 0


def linked(ticket: Ticket, viewer: User) -> list[Ticket]:
    """The requests linked to ``ticket`` that ``viewer`` may see."""
    ids = (
        select(TicketLink.linked_id)
        .where(TicketLink.ticket_id == ticket.id)
        .union(select(TicketLink.ticket_id).where(TicketLink.linked_id == ticket.id))
    )
    query = visible_tickets(viewer).where(Ticket.id.in_(ids)).order_by(Ticket.id).limit(LINKS_MAX)
    return list(db.session.scalars(query))
