"""The duplicates' JSON for the filing forms (``GET /tickets/similar``), and what a request's page shows of
merging: where a merged request went (and the main request's answer), what was merged into a main one, and
the staff's "possible duplicates" with their scores."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from hotline.auth.access import roles_required
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Enterprise
from hotline.enterprises.services import liaison_covers
from hotline.extensions import db
from hotline.merge import links, services, similar
from hotline.text import has_control_characters
from hotline.tickets.labels import state_label
from hotline.tickets.models import Ticket, TicketState
from hotline.tickets.queries import active_category, visible_tickets

bp = Blueprint("merge", __name__)

FILERS = (Role.ENTERPRISE, Role.LIAISON, Role.MANAGER, Role.ADMIN)


def _arg(values: Any, name: str, maximum: int) -> str:
    value = values.get(name)
    text = value if isinstance(value, str) else ""
    if has_control_characters(text):
        return ""
    return text[:maximum]


def filing_enterprise(user: User, uscc: str) -> Enterprise | None:
    """The enterprise a filing is for: own, or (staff) ``uscc``, if they may record for it."""
    if user.role == Role.ENTERPRISE:
        return db.session.get(Enterprise, user.enterprise_id) if user.enterprise_id is not None else None
    code = uscc_codes.normalise(uscc or "")
    if not code:
        return None
    enterprise = db.session.scalars(select(Enterprise).where(Enterprise.uscc == code)).first()
    if enterprise is None:
        return None
    if user.role == Role.LIAISON and not liaison_covers(user, enterprise.building_id):
        return None
    return enterprise


def similar_for_filing(user: User, values: Any) -> list[similar.Similar]:
    """Requests like the one being typed (the form's ``category``, ``title``, ``description`` and, for staff,
    ``enterprise_uscc``): of the same enterprise (a liaison: and of its building), same category."""
    category = active_category(_arg(values, "category", 32))
    title, description = _arg(values, "title", 200), _arg(values, "description", similar.TEXT_MAX)
    if category is None or len((title + description).strip()) < 2:
        return []
    enterprise = filing_enterprise(user, _arg(values, "enterprise_uscc", 40))
    if enterprise is None:
        return []
    return similar.similar_requests(
        user,
        category_id=category.id,
        title=title,
        description=description,
        now=utcnow(),
        enterprise_id=enterprise.id,
        building_id=enterprise.building_id if user.role != Role.ENTERPRISE else None,
    )


def similar_for_current_user(values: Any) -> list[similar.Similar]:
    """For the filing forms' template (after "Check for similar requests")."""
    return similar_for_filing(current_user, values)


def as_json(found: list[similar.Similar]) -> list[dict[str, Any]]:
    return [
        {
            "number": s.ticket.number,
            "title": s.ticket.title,
            "state": s.ticket.state.value,
            "state_label": str(state_label(s.ticket.state)),
            "score": s.score,
            "url": url_for("tickets.detail", number=s.ticket.number),
        }
        for s in found
    ]


@bp.route("/tickets/similar")
@roles_required(*FILERS)
def similar_json() -> Response:
    """``GET /tickets/similar?category=&title=&description=[&enterprise_uscc=]`` → ``{"items": [...]}``."""
    return jsonify({"items": as_json(similar_for_filing(current_user, request.args))})


def merge_context(ticket: Ticket) -> dict[str, Any]:
    """For the request's page: the main request (and whether the viewer may open it, and its answer once
    given), the requests merged into this one the viewer may see, and for staff the possible duplicates."""
    user = current_user
    context: dict[str, Any] = {"main": None, "main_visible": False, "merged": [], "duplicates": []}
    context["linked"] = links.linked(ticket, user)
    if ticket.state == TicketState.MERGED and ticket.merged_into_id is not None:
        main = db.session.get(Ticket, ticket.merged_into_id)
        context["main"] = main
        if main is not None:
            context["main_visible"] = (
                db.session.scalars(
                    visible_tickets(user).with_only_columns(Ticket.id).where(Ticket.id == main.id)
                ).first()
                is not None
            )
    merged = services.merged_into(ticket)
    if merged:
        seen = set(
            db.session.scalars(
                visible_tickets(user)
                .with_only_columns(Ticket.id)
                .where(Ticket.id.in_([m.id for m in merged]))
            )
        )
        context["merged"] = [m for m in merged if m.id in seen]
    if user.role != Role.ENTERPRISE and ticket.state != TicketState.MERGED:
        context["duplicates"] = similar.possible_duplicates(user, ticket, utcnow())
    return context
