"""The caller's own account through the API: profile, leave (liaisons) and notifications.

Anyone with a token, each on their own rows only, like the account and notification pages: a notification of
another user answers 404, as on the page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, paginate
from hotline.auth import services as accounts
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.notifications import services as notifications
from hotline.notifications.models import Notification
from hotline.web import perform

# --------------------------------------------------------------------------- profile


@bp.route("/me", methods=["GET"])
@token_required
@bp.response(200, schemas.Profile)
@bp.doc(security=BEARER)
def me() -> User:
    """The caller's account: who it is, how to reach it, its language, and (a liaison) whether on leave."""
    return api_user()


@bp.route("/me", methods=["PATCH"])
@token_required
@bp.arguments(schemas.ProfileUpdate)
@bp.response(200, schemas.Profile)
@bp.doc(security=BEARER)
def update_me(body: dict[str, Any]) -> User:
    """Change any of the caller's name, phone, email and language; every refusal at once in `fields`."""
    user = api_user()
    return perform(
        lambda: accounts.update_profile(
            user,
            now=utcnow(),
            name=body.get("name"),
            phone=body.get("phone"),
            email=body.get("email"),
            locale=body.get("locale"),
        )
    )


@bp.route("/me/availability", methods=["PUT"])
@token_required
@bp.arguments(schemas.AvailabilityUpdate)
@bp.response(200, schemas.Profile)
@bp.doc(security=BEARER)
def set_availability(body: dict[str, Any]) -> User:
    """A liaison goes on leave (`false`: new requests go to the other liaisons of its buildings) or comes
    back; 403 for anyone else."""
    user = api_user()
    return perform(lambda: accounts.set_availability(user, body["available"]))


# --------------------------------------------------------------------------- notifications


@bp.route("/notifications", methods=["GET"])
@token_required
@bp.arguments(schemas.NotificationListArgs, location="query")
@bp.response(200, schemas.NotificationPage)
@bp.doc(security=BEARER)
def list_notifications(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's notifications, newest first, each in the caller's language; `unread` filters them."""
    user = api_user()
    query = notifications.own_notifications(user)
    unread: bool | None = args.get("unread")
    if unread is True:
        query = query.where(Notification.read_at.is_(None))
    elif unread is False:
        query = query.where(Notification.read_at.is_not(None))
    result = paginate(query, args)
    return {**schemas.page_answer(result), "unread": notifications.unread_count(user.id)}


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@token_required
@bp.response(200, schemas.NotificationSchema)
@bp.doc(security=BEARER)
def read_notification(notification_id: int) -> Notification:
    """Mark one of the caller's notifications as read (again is harmless); another user's answers 404."""
    user = api_user()
    checked = schemas.row_id(notification_id, _("There is no such notification."))
    return perform(lambda: notifications.mark_read(user, checked, utcnow()))
