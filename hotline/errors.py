"""Domain errors raised by services, and the one place where they and HTTP errors become answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


class DomainError(Exception):
    """Base of all domain errors; ``message`` is already translated for the acting user."""

    code = "error"
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class InvalidTransition(DomainError):
    """The action is not allowed in the request's current state."""

    code = "invalid_transition"
    status = 409


class ValidationFailed(DomainError):
    """Input was refused; ``fields`` maps field names to messages."""

    code = "validation_failed"
    status = 400


class Conflict(DomainError):
    code = "conflict"
    status = 409


# --------------------------------------------------------------------------- how errors are answered


def _is_api() -> bool:
    from flask import request

    return request.path.startswith("/api/")


def _json_error(code: str, message: str, fields: dict[str, str], status: int) -> Any:
    from flask import jsonify

    return jsonify({"error": {"code": code, "message": message, "fields": fields}}), status


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _http_error_page(code: int, description: str) -> Any:
    from flask import render_template
    from flask_babel import gettext as _

    titles = {
        403: _("You may not see this page"),
        404: _("Page not found"),
        405: _("This action is not allowed here"),
        413: _("The upload is too large"),
        500: _("Something went wrong"),
    }
    if _is_api():  # in the caller's language, like every other message of the API
        return _json_error(HTTP_CODES.get(code, "error"), titles.get(code, description), {}, code)
    return render_template("errors/error.html", code=code, title=titles.get(code, _("Error"))), code


def init_app(app: Flask) -> None:
    """One place where errors become answers: JSON under ``/api/``, pages elsewhere.

    A domain error that reaches the application (see :func:`hotline.web.perform`) is rolled back and answered
    with its status in the API; on a page, :class:`NotFound` is the 404 page, and any other refusal is said
    above the page the view named (or the referring page of this site, or the start page).
    """
    from flask import flash, redirect, request, url_for
    from werkzeug.exceptions import HTTPException, InternalServerError

    from hotline.auth.access import safe_next
    from hotline.extensions import db

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        db.session.rollback()  # nothing half-saved
        if _is_api():
            response, status = _json_error(error.code, error.message, error.fields, error.status)
            challenge = getattr(error, "challenge", None)
            if challenge:
                response.headers["WWW-Authenticate"] = challenge
            return response, status
        if isinstance(error, NotFound):
            return _http_error_page(404, error.message)
        from hotline.web import refusal_target

        back = refusal_target() or _same_site_referrer(request.referrer, request.host_url, safe_next)
        if back is None and isinstance(error, Forbidden):
            return _http_error_page(403, error.message)
        flash(error.message, "danger")
        return redirect(back or url_for("pages.home"))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if error.code and error.code < 400:
            return error
        return _http_error_page(error.code or 500, error.description or "")

    @app.errorhandler(500)
    def server_error(error: Exception) -> Any:
        db.session.rollback()
        return _http_error_page(500, InternalServerError.description or "")


def _same_site_referrer(referrer: str | None, host_url: str, safe: Any) -> str | None:
    """The referring page if it is on this site (as a path), else None."""
    if not referrer or not referrer.startswith(host_url):
        return None
    path = "/" + referrer[len(host_url) :].lstrip("/")
    result: str | None = safe(path)
    return result
