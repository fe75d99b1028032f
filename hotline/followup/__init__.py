"""回访: follow-up calls to enterprises that did not rate a resolved request (issue 11, point 1).

Managers work the queue (:mod:`hotline.followup.queries`): resolved requests the enterprise has not rated
``FOLLOWUP_AFTER_WORKING_DAYS`` working days after their resolution.  A manager who did not handle the
request calls the contact and records the call (:mod:`hotline.followup.services`, bound to the lifecycle
table's rows ``followup`` and ``followup_unanswered``): a call that reached someone is the request's rating
(source ``followup_call``); the third unanswered call closes it unrated.  Every call is a row of
``followup_calls`` (append-only) and an event on the request's timeline.
"""

from __future__ import annotations

from flask import Flask

SETTINGS = {  # name: (lowest, highest)
    "FOLLOWUP_AFTER_WORKING_DAYS": (0, 30),
    "FOLLOWUP_ATTEMPTS": (1, 10),
    "FOLLOWUP_RETRY_MINUTES": (0, 7 * 24 * 60),
    "FOLLOWUP_STALE_WORKING_DAYS": (1, 60),
}


def check_settings(config: dict[str, object] | object) -> None:
    """Refuse to start with a follow-up setting that is not a whole number in its range (a negative count
    of working days would fail every manager's page)."""
    for name, (low, high) in SETTINGS.items():
        value = config[name]  # type: ignore[index]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RuntimeError(f"{name} must be a whole number from {low} to {high}, not {value!r}")


def init_app(app: Flask) -> None:
    """Bind the two follow-up actions to the lifecycle table; the queue's page; the navigation shows the
    queue only while the calls are on."""
    from hotline.followup import services
    from hotline.followup.views import bp
    from hotline.tickets import workflow

    check_settings(app.config)
    workflow.bind("followup", services.record_call, offered_if=services.may_call)
    workflow.bind("followup_unanswered", services.record_unanswered_call, offered_if=services.may_call)
    app.register_blueprint(bp)
    app.jinja_env.globals["followup_backlog"] = backlog_for_page


def backlog_for_page() -> object:
    """The follow-up backlog the page's frame warns a manager of (None for anyone else, or when none)."""
    from flask_login import current_user

    from hotline.auth.models import Role
    from hotline.db import utcnow
    from hotline.errors import database_unavailable
    from hotline.followup import queries

    if database_unavailable() or not getattr(current_user, "is_authenticated", False):
        return None
    if current_user.role not in (Role.MANAGER, Role.ADMIN):
        return None
    return queries.backlog(utcnow())
