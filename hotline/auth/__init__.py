"""Accounts: users and roles, login sessions, API tokens, the account page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The account pages, and the worker task that e-mails a password reset link (outbox topic)."""
    from hotline.auth import tasks
    from hotline.auth.resets import SEND_PASSWORD_RESET
    from hotline.auth.views import bp
    from hotline.outbox import services as outbox

    outbox.register_topic(SEND_PASSWORD_RESET, tasks.send_password_reset.name)
    app.register_blueprint(bp)
