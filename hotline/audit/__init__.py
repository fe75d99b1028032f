"""The administrators' audit log (issue 11, point 6): who changed accounts and roles, the calendar, the
categories' clocks, the coverage, and who downloaded which export; an append-only table, a page to search it
and ``GET /api/v1/audit``."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline.audit.views import bp

    app.register_blueprint(bp)
