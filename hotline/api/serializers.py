"""JSON shapes of the API (DESIGN §9): requests, their events and categories.

Plain functions from rows to dicts; they read only what the row already carries, so a list page loads its
relations up front (:func:`with_ticket_relations`) instead of one query per request.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from sqlalchemy import Select
from sqlalchemy.orm import selectinload

from hotline.auth.models import User
from hotline.tickets.models import Category, Ticket, TicketEvent
from hotline.tickets.queries import event_payload
from hotline.tickets.services import state_label
from hotline.timeutil import iso


def with_ticket_relations(query: Select[Ticket]) -> Select[Ticket]:
    """Load everything :func:`ticket_json` touches with the rows: a fixed number of queries per page."""
    return query.options(
        selectinload(Ticket.enterprise),
        selectinload(Ticket.building),
        selectinload(Ticket.category),
        selectinload(Ticket.assignee),
        selectinload(Ticket.department),
    )


def _is_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def category_json(category: Category) -> dict[str, Any]:
    name = category.name_en if _is_english() and category.name_en else category.name
    return {"code": category.code, "name": name}


def user_json(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"username": user.username, "name": user.name}


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """A request as DESIGN §9 shows it, plus a few extras (state label, department, answer …)."""
    department = ticket.department
    return {
        "number": ticket.number,
        "state": ticket.state.value,
        "state_label": state_label(ticket.state),
        "title": ticket.title,
        "description": ticket.description,
        "category": ticket.category.code,
        "urgency": ticket.urgency.value,
        "channel": ticket.channel.value,
        "contact_phone": ticket.contact_phone,
        "enterprise": {"name": ticket.enterprise.name, "uscc": ticket.enterprise.uscc},
        "building": ticket.building.name,
        "assignee": user_json(ticket.assignee),
        "department": None if department is None else department.code,
        "answer": ticket.answer,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "acknowledge_due_at": iso(ticket.acknowledge_due_at),
        "resolve_due_at": iso(ticket.resolve_due_at),
        "rating_due_at": iso(ticket.rating_due_at),
        "acknowledged_at": iso(ticket.acknowledged_at),
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
        "rating": (
            None
            if ticket.rating_score is None
            else {"score": ticket.rating_score.value, "comment": ticket.rating_comment or ""}
        ),
        "reopen_count": ticket.reopen_count,
    }


def event_json(event: TicketEvent, *, include_internal: bool) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "from_state": None if event.from_state is None else event.from_state.value,
        "to_state": None if event.to_state is None else event.to_state.value,
        "actor": None if event.actor is None else event.actor.name,
        "body": event.body,
        "public": event.public,
        "created_at": iso(event.created_at),
        "payload": event_payload(event, include_internal=include_internal),
    }


def ticket_detail_json(
    ticket: Ticket, events: list[TicketEvent], *, include_internal: bool
) -> dict[str, Any]:
    body = ticket_json(ticket)
    body["events"] = [event_json(e, include_internal=include_internal) for e in events]
    return body
