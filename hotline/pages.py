"""The home page: each role lands on its own start page."""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from hotline.auth.models import Role

bp = Blueprint("pages", __name__)

START_PAGES = {
    Role.ENTERPRISE: "tickets.portal",
    Role.LIAISON: "tickets.workbench",
    Role.DEPARTMENT: "tickets.department_queue",
    Role.MANAGER: "stats.dashboard",
    Role.ADMIN: "stats.dashboard",
}


@bp.route("/")
def home() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for(START_PAGES[current_user.role]))
    return render_template("pages/home.html")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
