"""Possible duplicates of a request through the API (issue 13, point 2): ``GET /tickets/<number>/similar``.
并单 itself is a lifecycle action (``POST /api/v1/tickets/<number>/merge``, derived from the table)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import fields

from hotline.api.auth import api_user, token_required
from hotline.api.schemas import Base
from hotline.api.views import BEARER, bp, errors_documented
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.errors import Forbidden
from hotline.merge import similar
from hotline.tickets.models import TicketState
from hotline.tickets.queries import get_visible_ticket


class SimilarItem(Base):
    number = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.Enum(TicketState, by_value=True, required=True)
    score = fields.Integer(required=True, metadata={"description": "Similarity of the texts, 0 to 100"})


class SimilarList(Base):
    items = fields.List(fields.Nested(SimilarItem), required=True)


@bp.route("/tickets/<number>/similar", methods=["GET"])
@token_required
@errors_documented(401, 403, 404)
@bp.response(200, SimilarList)
@bp.doc(security=BEARER)
def similar_tickets(number: str) -> dict[str, Any]:
    """Staff: requests of the same enterprise or building and category, open or closed within 30 days,
    whose text looks like this one's (best first, at most 5, each with its score)."""
    user = api_user()
    ticket = get_visible_ticket(user, number)
    if user.role == Role.ENTERPRISE:
        raise Forbidden(_("Only staff see the possible duplicates of a request."))
    found = similar.possible_duplicates(user, ticket, utcnow())
    return {
        "items": [
            {"number": s.ticket.number, "title": s.ticket.title, "state": s.ticket.state, "score": s.score}
            for s in found
        ]
    }
