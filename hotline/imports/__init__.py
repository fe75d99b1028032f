"""Imports of the district's spreadsheets: buildings, enterprises, coverage (issue 10, point 3)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline.imports.views import bp

    app.register_blueprint(bp)
