"""What each user may see (DESIGN §3), enforced in the queries themselves.

Every page and API call that reads requests starts from :func:`visible_tickets`, so a request another
enterprise filed answers 404 rather than being merely hidden from a list.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, false, or_, select

from hotline.auth.models import Role, User
from hotline.enterprises.models import Coverage
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.tickets.models import Ticket, TicketState


def covered_building_ids(user: User) -> Select[tuple[int]]:
    """The buildings a liaison covers (primary or deputy, active coverage)."""
    return select(Coverage.building_id).where(Coverage.liaison_id == user.id, Coverage.active.is_(True))


def visible_tickets(user: User) -> Select[tuple[Ticket]]:
    """A SELECT of the requests ``user`` may see."""
    query = select(Ticket)
    if user.is_staff:
        return query
    if user.role == Role.ENTERPRISE:
        if user.enterprise_id is None:
            return query.where(false())
        return query.where(Ticket.enterprise_id == user.enterprise_id)
    if user.role == Role.LIAISON:
        return query.where(
            or_(Ticket.assignee_id == user.id, Ticket.building_id.in_(covered_building_ids(user)))
        )
    if user.role == Role.DEPARTMENT:
        if user.department_id is None:
            return query.where(false())
        return query.where(Ticket.department_id == user.department_id)
    return query.where(false())


def get_visible_ticket(user: User, number: str, *, for_update: bool = False) -> Ticket:
    """The request with this number if ``user`` may see it; :class:`NotFound` otherwise."""
    query = visible_tickets(user).where(Ticket.number == number)
    if for_update:
        query = query.with_for_update(of=Ticket)
    ticket = db.session.scalars(query).first()
    if ticket is None:
        raise NotFound(_not_found_message())
    return ticket


def get_visible_ticket_by_id(user: User, ticket_id: int, *, for_update: bool = False) -> Ticket:
    query = visible_tickets(user).where(Ticket.id == ticket_id)
    if for_update:
        query = query.with_for_update(of=Ticket)
    ticket = db.session.scalars(query).first()
    if ticket is None:
        raise NotFound(_not_found_message())
    return ticket


def _not_found_message() -> str:
    return _("No such request.")


def filter_state(query: Select[tuple[Ticket]], state: str | None) -> Select[tuple[Ticket]]:
    """Narrow a ticket query to one state; an unknown state name is ignored by the caller's validation."""
    if state and state in TicketState.__members__.values():
        return query.where(Ticket.state == TicketState(state))
    return query
