"""Domain errors raised by services, and the one place where they and HTTP errors become answers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


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


def is_api_request() -> bool:
    """Whether the current request is a call of the JSON API (answered in JSON, not pages)."""
    from flask import request

    return request.path.startswith("/api/")


def json_error(code: str, message: str, fields: dict[str, str], status: int) -> Any:
    """The API's error answer: ``{"error": {"code", "message", "fields"}}`` with ``status``."""
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
    503: "unavailable",
}


def _http_error_page(code: int, description: str) -> Any:
    from flask import render_template
    from flask_babel import gettext as _

    titles = {
        403: _("You may not see this page"),
        404: _("Page not found"),
        405: _("This action is not allowed here"),
        413: _("The upload is too large"),
        # throttled failures are answered by hotline.throttle, with the minutes to wait
        429: _("Too many attempts. Please try again later."),
        500: _("Something went wrong"),
        503: _("The service is briefly unavailable. Please try again in a moment."),
    }
    if is_api_request():  # in the caller's language, like every other message of the API
        return json_error(HTTP_CODES.get(code, "error"), titles.get(code, description), {}, code)
    return render_template("errors/error.html", code=code, title=titles.get(code, _("Error"))), code


# --------------------------------------------------------------------------- the database out of reach

# How long a client is asked to wait before it tries again when the database cannot be reached.
RETRY_AFTER_SECONDS = 30
_DATABASE_UNAVAILABLE = "hotline_database_unavailable"  # in flask.g: this request is answered 503

# PostgreSQL's SQLSTATEs that mean "no usable connection" (appendix A of its manual): class 08 (connection
# exception) and these.  The other SQLSTATEs psycopg raises as OperationalError (a statement timeout, a
# deadlock, a refused password …) are not an outage: they stay a 500.
_PG_UNAVAILABLE = {
    "53300",  # too_many_connections
    "57P01",  # admin_shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now (starting up, shutting down, in recovery)
    "57P05",  # idle_session_timeout
    "55P03",  # lock_not_available: a lock held by another transaction past this one's lock_timeout (as
    # SQLite's busy below: the filing calls bound their waits, hotline.tickets.idempotency)
}
# SQLite's primary result codes that mean the file cannot be used now: it cannot be opened, or another
# connection held it locked past the busy timeout.  Its other OperationalErrors ("no such table", a syntax
# error) are mistakes in the code or the schema.
_SQLITE_CANTOPEN = 14
_SQLITE_BUSY = 5


def is_connection_failure(error: DBAPIError) -> bool:
    """Whether ``error`` says the database cannot be reached (rather than that a statement is wrong).

    SQLAlchemy flags a connection it found dead under a statement (``connection_invalidated``); a failure to
    connect at all (refused, timed out, the server starting up) is not flagged, and is told apart by the
    driver's own error: psycopg's SQLSTATE (none for libpq's own errors), SQLite's result code.  Everything
    else (a syntax error, a missing table, a constraint) is a mistake to be fixed, not an outage.
    """
    import sqlite3

    import psycopg

    if error.connection_invalidated:
        return True
    origin = error.orig
    if isinstance(origin, psycopg.OperationalError):
        sqlstate = origin.sqlstate  # None: libpq's own error (refused, timed out, connection lost)
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _PG_UNAVAILABLE
    if isinstance(origin, sqlite3.OperationalError):
        code = getattr(origin, "sqlite_errorcode", None)  # set on every error the driver raises
        return code is not None and code & 0xFF in (_SQLITE_CANTOPEN, _SQLITE_BUSY)
    return False


def database_unavailable() -> bool:
    """Whether the current request is being answered "the database cannot be reached" (503).

    The page frame of that answer must not query the database again: the login user loader returns no user
    when this is true, so the 503 page is drawn as for a visitor (the session itself is kept).
    """
    from flask import g

    return bool(g.get(_DATABASE_UNAVAILABLE))


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


def init_app(app: Flask) -> None:
    """One place where errors become answers: JSON under ``/api/``, pages elsewhere.

    A domain error that reaches the application (see :func:`hotline.web.perform`) is rolled back and answered
    with its status in the API; on a page, :class:`NotFound` is the 404 page, and any other refusal is said
    above the page the view named (or the referring page of this site, or the start page).

    A database that cannot be reached is answered 503 with ``Retry-After`` (one warning in the log, no
    traceback); any other database error stays a 500, logged with its traceback.
    """
    from flask import flash, g, make_response, redirect, request, url_for
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError
    from werkzeug.exceptions import HTTPException, InternalServerError

    from hotline.auth.access import safe_next
    from hotline.extensions import db

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        db.session.rollback()  # nothing half-saved
        if is_api_request():
            response, status = json_error(error.code, error.message, error.fields, error.status)
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

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> Any:
        if not is_connection_failure(error):
            raise error  # a wrong statement or schema: Flask logs it and answers 500
        setattr(g, _DATABASE_UNAVAILABLE, True)
        try:
            db.session.rollback()
        except SQLAlchemyError:  # the connection died under the rollback: drop it, never back to the pool
            db.session().invalidate()
        log.warning(
            "database unavailable, answered 503: %s %s: %s",
            request.method,
            request.path,
            _first_line(error.orig),
        )
        response = make_response(_http_error_page(503, ""))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def _same_site_referrer(referrer: str | None, host_url: str, safe: Any) -> str | None:
    """The referring page if it is on this site (as a path), else None."""
    if not referrer or not referrer.startswith(host_url):
        return None
    path = "/" + referrer[len(host_url) :].lstrip("/")
    result: str | None = safe(path)
    return result
