"""Accounts: users and roles, login sessions, API tokens, the account page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline.auth.views import bp

    app.register_blueprint(bp)
