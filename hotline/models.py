"""Import every model so that the metadata (and Alembic's autogenerate) sees all tables."""

from hotline.auth.models import ApiToken, LoginSession, Role, User
from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Enterprise, Street
from hotline.outbox.models import OutboxMessage
from hotline.tickets.models import Category, Rating, Ticket, TicketCounter, TicketEvent

__all__ = [
    "ApiToken",
    "Building",
    "Category",
    "Coverage",
    "CoverageRole",
    "Department",
    "Enterprise",
    "LoginSession",
    "OutboxMessage",
    "Rating",
    "Role",
    "Street",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "User",
]
