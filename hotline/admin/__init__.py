"""Administration: user accounts."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline.admin.views import bp

    app.register_blueprint(bp)
