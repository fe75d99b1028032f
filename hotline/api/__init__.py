"""The JSON API under /api/v1 (DESIGN §9)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline.api.views import bp
    from hotline.extensions import csrf

    csrf.exempt(bp)  # bearer tokens, no cookies: CSRF does not apply
    app.register_blueprint(bp)
