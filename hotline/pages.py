"""The home page (each role lands on its own start page) and the error pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from hotline.auth.models import Role
from hotline.extensions import db

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


def _error_page(error: HTTPException) -> tuple[str | Response, int]:
    code = error.code or 500
    if request.path.startswith("/api/"):
        names = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
        }
        body = {"error": {"code": names.get(code, "error"), "message": error.description or "", "fields": {}}}
        return jsonify(body), code
    titles = {
        403: _("You may not see this page"),
        404: _("Page not found"),
        405: _("This action is not allowed here"),
        413: _("The upload is too large"),
        500: _("Something went wrong"),
    }
    return render_template("errors/error.html", code=code, title=titles.get(code, _("Error"))), code


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if error.code and error.code < 400:
            return error
        return _error_page(error)

    @app.errorhandler(500)
    def server_error(error: Exception) -> Any:
        db.session.rollback()
        from werkzeug.exceptions import InternalServerError

        return _error_page(InternalServerError())
