"""The notification list and the bell's actions: mark one as read (and open its request, or its meeting),
mark all as read.

Both actions are POST forms with the CSRF token (checked by CSRFProtect for every POST); a notification of
another user answers 404.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from hotline.db import utcnow
from hotline.extensions import db
from hotline.notifications import services
from hotline.notifications.models import Notification
from hotline.tickets.models import Ticket
from hotline.tickets.queries import visible_tickets
from hotline.web import perform

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
@login_required
def index() -> str:
    page = db.paginate(
        services.own_notifications(current_user), per_page=current_app.config["PER_PAGE"], max_per_page=100
    )
    items = [(row, *services.render_notification(row)) for row in page.items]
    return render_template(
        "notifications/index.html", page=page, items=items, unread=services.unread_count(current_user.id)
    )


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int) -> Response:
    row = perform(lambda: services.mark_read(current_user, notification_id, utcnow()))
    assert isinstance(row, Notification)
    if row.ticket_id is None:
        meeting_id = (row.params or {}).get("meeting")
        if meeting_id is not None:
            return _to_meeting(meeting_id)
        return redirect(url_for(".index"))
    number = db.session.scalars(
        visible_tickets(current_user).with_only_columns(Ticket.number).where(Ticket.id == row.ticket_id)
    ).first()
    if number is None:  # reassigned or transferred away since: the request is no longer the reader's to see
        flash(_("You can no longer see this request."), "info")
        return redirect(url_for(".index"))
    return redirect(url_for("tickets.detail", number=number))


def _to_meeting(meeting_id: object) -> Response:
    """To the meeting a notification is about, if the reader may still see it (a cancelled meeting leaves
    the enterprise's portal)."""
    from hotline.errors import NotFound
    from hotline.meetings.services import get_meeting

    try:
        meeting = get_meeting(current_user, meeting_id)
    except NotFound:
        flash(_("You can no longer see this meeting."), "info")
        return redirect(url_for(".index"))
    return redirect(url_for("meetings.detail", meeting_id=meeting.id))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all() -> Response:
    count = perform(lambda: services.mark_all_read(current_user, utcnow()))
    if count:
        flash(_("All notifications are marked as read."), "success")
    return redirect(url_for(".index"))
