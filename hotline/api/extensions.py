"""延期 through the API: the managers' list of extension requests and their decision on one.

The same as the managers' extensions page (:mod:`hotline.sla.views`): managers and admins only, the decision
made by :func:`hotline.sla.services.decide_extension`.  The assignee asks with the lifecycle action
``POST /api/v1/tickets/<number>/extend``; a manager may also decide there (``decide_extension``).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, paginate
from hotline.db import utcnow
from hotline.extensions import db
from hotline.sla import services as sla
from hotline.sla.models import Extension, ExtensionState
from hotline.tickets.models import Ticket
from hotline.web import perform


def _with_numbers(extensions: list[Extension]) -> list[schemas.ExtensionWithTicket]:
    ids = {e.ticket_id for e in extensions}
    rows = db.session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids)))
    numbers: dict[int, str] = {ticket_id: number for ticket_id, number in rows}
    return [schemas.ExtensionWithTicket(e, numbers[e.ticket_id]) for e in extensions]


@bp.route("/extensions", methods=["GET"])
@token_required
@bp.arguments(schemas.ExtensionListArgs, location="query")
@bp.response(200, schemas.ExtensionPage)
@bp.doc(security=BEARER)
def list_extensions(args: dict[str, Any]) -> dict[str, Any]:
    """Extension requests in one state (managers): pending ones oldest first, decided ones newest first."""
    sla.require_manager(api_user(), _("Only a manager may decide on extensions."))
    state: ExtensionState = args.get("state") or ExtensionState.PENDING
    if state == ExtensionState.PENDING:
        query = sla.pending_extensions()
    else:
        query = (
            select(Extension)
            .where(Extension.state == state)
            .order_by(Extension.decided_at.desc(), Extension.id.desc())
        )
    query = query.options(selectinload(Extension.requested_by), selectinload(Extension.decided_by))
    result = paginate(query, args)
    return schemas.page_answer(result, _with_numbers(list(result.items)))


@bp.route("/extensions/<int:extension_id>/decide", methods=["POST"])
@token_required
@bp.arguments(schemas.ExtensionDecision)
@bp.response(200, schemas.ExtensionSchema)
@bp.doc(security=BEARER)
def decide_extension(body: dict[str, Any], extension_id: int) -> schemas.ExtensionWithTicket:
    """A manager approves (the deadline moves that many working days later) or refuses (a note is required).

    404 for an unknown id; 409 `invalid_transition` when it is already decided or the request has left the
    clock it was asked for.
    """
    user = api_user()
    sla.require_manager(user, _("Only a manager may decide on extensions."))
    checked = schemas.row_id(extension_id, _("No such extension request."))
    extension = perform(
        lambda: sla.decide_extension(checked, user, body["approve"], body.get("note") or "", utcnow())
    )
    return _with_numbers([extension])[0]
