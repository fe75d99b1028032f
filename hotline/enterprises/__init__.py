"""Enterprises, buildings and streets: registration, onboarding by liaisons, verification, coverage."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline.enterprises.labels import claim_state_label
    from hotline.enterprises.views import bp

    app.register_blueprint(bp)
    app.jinja_env.globals.update(claim_state_label=claim_state_label)
