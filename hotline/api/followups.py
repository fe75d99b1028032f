"""The 回访 queue through the API (issue 11, point 1).  The calls themselves are lifecycle actions:
``POST /api/v1/tickets/<number>/followup`` and ``…/followup_unanswered`` (derived from the table)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, errors_documented, paginate
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.errors import Forbidden, NotFound
from hotline.followup import queries, services


@bp.route("/followups", methods=["GET"])
@token_required
@bp.arguments(schemas.PageArgs, location="query")
@errors_documented(401, 403, 404)
@bp.response(200, schemas.FollowupQueuePage)
@bp.doc(security=BEARER)
def followup_queue(args: dict[str, Any]) -> dict[str, Any]:
    """The follow-up queue (managers): resolved requests the enterprise has not rated
    `FOLLOWUP_AFTER_WORKING_DAYS` working days after the answer, oldest first, with the calls made so far
    and whether the caller may make the next one (not when it handled the request)."""
    user = api_user()
    if user.role not in (Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Only managers work the follow-up queue."))
    if not queries.enabled():
        raise NotFound(_("The follow-up calls are turned off."))
    now = utcnow()
    result = paginate(queries.queue_query(now), args)
    tickets = list(result.items)
    attempts = queries.attempts_of([t.id for t in tickets])
    mine = services.handled_among(tickets, user)
    items = [
        {
            "number": t.number,
            "title": t.title,
            "enterprise": t.enterprise,
            "contact_phone": t.contact_phone,
            "assignee": t.assignee,
            "resolved_at": t.resolved_at,
            "attempts": attempts[t.id].count,
            "last_attempt_at": attempts[t.id].last_at,
            "may_call": t.id not in mine,
        }
        for t in tickets
    ]
    answer = schemas.page_answer(result, items)
    answer.update(waiting=queries.waiting_count(now), attempts_allowed=services.max_attempts())
    return answer
