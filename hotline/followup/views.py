"""The managers' 回访 queue page; the calls themselves are recorded on the request's page (its actions)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user

from hotline.auth.access import roles_required
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.extensions import db
from hotline.followup import queries, services

bp = Blueprint("followup", __name__)


@bp.route("/manage/followups")
@roles_required(Role.MANAGER)
def queue() -> str:
    if not queries.enabled():
        abort(404)  # the calls are off (FOLLOWUP_AFTER_WORKING_DAYS=0): no queue, no menu item
    now = utcnow()
    page = db.paginate(
        queries.queue_query(now), per_page=current_app.config["PER_PAGE"], max_per_page=100, error_out=False
    )
    attempts = queries.attempts_of([t.id for t in page.items])
    mine = services.handled_among(list(page.items), current_user)
    return render_template(
        "followup/queue.html",
        page=page,
        attempts=attempts,
        mine=mine,
        max_attempts=services.max_attempts(),
        after_days=queries.after_working_days(),
        waiting=queries.waiting_count(now),
    )
