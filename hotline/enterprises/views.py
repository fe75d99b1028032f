from __future__ import annotations

from flask import Blueprint

bp = Blueprint("enterprises", __name__)


@bp.route("/enterprises/")
def index() -> str:
    return "TODO"
