"""Notifications: who is told what, in the app (the bell) and by email through the outbox."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from hotline.tickets import events
from hotline.tickets.events import TicketChanged


def _notify(change: TicketChanged) -> None:
    from hotline.notifications.services import on_ticket_event

    on_ticket_event(change.event, change.now)


def unread_notifications() -> int:
    """The bell's count: one indexed COUNT, only for a logged-in user (base.html calls it once a page)."""
    from hotline.notifications.services import unread_count

    if not current_user.is_authenticated:
        return 0
    return unread_count(current_user.id)


def init_app(app: Flask) -> None:
    """Tell people about every lifecycle event (after the clocks have set the deadlines they quote), email
    through the outbox, and give the templates the bell's count."""
    from hotline.notifications import tasks
    from hotline.notifications.views import bp
    from hotline.outbox import services as outbox

    events.subscribe(_notify, order=events.NOTIFY)
    outbox.register_topic(outbox.SEND_EMAIL, tasks.send_email.name)
    app.register_blueprint(bp)
    app.jinja_env.globals["unread_notifications"] = unread_notifications
