"""A district sets itself up: streets, buildings, departments, categories and coverage (issue 10)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline.district.views import bp

    app.register_blueprint(bp)
