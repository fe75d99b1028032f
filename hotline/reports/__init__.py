"""Frozen reports: a period's figures as they stood when a manager froze them (issue 11, point 5)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline.reports.views import bp

    app.register_blueprint(bp)
