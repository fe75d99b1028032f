"""Users through the API (issue 10): a liaison's open work handed over to another liaison in one step, and the
dates of its leave."""

from __future__ import annotations

from typing import Any

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp
from hotline.auth import services as accounts
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.tickets import services as tickets
from hotline.web import perform


@bp.route("/users/<username>/handover", methods=["POST"])
@token_required
@bp.arguments(schemas.HandoverBody)
@bp.response(200, schemas.HandoverAnswer)
@bp.doc(security=BEARER)
def hand_over(body: dict[str, Any], username: str) -> dict[str, Any]:
    """A manager hands every open request of the liaison `username` (assigned, in progress, returned) to the
    liaison `to`, with a reason: assigned and returned ones are to be acknowledged anew, those in progress
    stay in progress with their deadlines.  A request the new liaison returned before is kept and listed
    in `kept` with why.  403 for anyone but a manager, 404 for no such liaison, 400 for a bad `to` or
    `reason`."""
    user = api_user()
    done = perform(
        lambda: tickets.hand_over_workload(
            username, user, body.get("to") or "", body.get("reason") or "", utcnow()
        )
    )
    return {
        "handed_over": done.handed_over,
        "kept": [{"number": number, "reason": why} for number, why in done.kept],
    }


@bp.route("/users/<username>/leave", methods=["PUT"])
@token_required
@bp.arguments(schemas.LeaveBody)
@bp.response(200, schemas.Profile)
@bp.doc(security=BEARER)
def set_leave(body: dict[str, Any], username: str) -> User:
    """A manager sets the liaison's leave, `leave_from` to `leave_until` (both days included): routing skips
    the liaison on those days and the deputies of its buildings take its new requests; both null ends it.
    What the liaison already holds stays with it (hand it over: `POST /api/v1/users/<username>/handover`).
    403 for anyone but a manager, 404 for no such liaison, 400 for bad dates."""
    user = api_user()
    return perform(
        lambda: accounts.set_leave(username, user, body.get("leave_from"), body.get("leave_until"), utcnow())
    )
