"""Throttling of failed logins, token requests, registrations and password changes (Flask-Limiter).

Only failures count.  Each limit is tested before its view runs, so a client or an account over its limit is
refused with 429 whatever it sends (even the right password), and it is deducted after the view only when the
view called :func:`count_failure` (Flask-Limiter's ``deduct_when``): a successful login, registration or
password change never uses up an attempt, and a refused (429) attempt does not either.

- Logging in, on the login page and with ``POST /api/v1/tokens`` (the two share their counts): per account
  named, so one account's password cannot be guessed from many addresses; and per client address, so one
  client cannot try many accounts.  The address limit is the higher one: people behind one office address
  share it.  Another account, logging in from another address, is never held up by someone else's failures.
- Registering an enterprise: refused registrations per client address.
- Changing one's password: wrong current passwords per account.

The limits are settings (``THROTTLE_*`` in :mod:`hotline.config`), read on each request.  The counts are
kept in Redis (``REDIS_URL``: production and the embedded run alike), shared by every process; with no
``REDIS_URL``, or while Redis is out of reach, in the memory of each process.  The client address is
``request.remote_addr``: behind a reverse proxy it is the proxy's unless the proxy is trusted
(``TRUSTED_PROXIES``, :mod:`hotline.security`), and every client would share one address limit.

There is one limiter per process (:data:`hotline.extensions.limiter`), configured by the last application
initialised.  Tests reset its counts with ``limiter.reset()``; ``RATELIMIT_ENABLED=False`` turns it off.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from flask import current_app, g, make_response, render_template, request
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_login import current_user

from hotline.errors import HTTP_CODES, is_api_request, json_error
from hotline.extensions import limiter

if TYPE_CHECKING:
    from flask import Flask
    from flask_limiter import RouteLimit
    from werkzeug.wrappers import Response

P = ParamSpec("P")
R = TypeVar("R")

_FAILED = "hotline_throttle_failed"  # in flask.g: this request is a failed attempt


def count_failure() -> None:
    """Count the current request as a failed attempt against every limit of its view."""
    setattr(g, _FAILED, True)


def _failed(response: Response) -> bool:
    return bool(g.get(_FAILED))


def _account_named() -> str:
    """The account a login form or token request names: its username as typed, case-folded (so a case
    variant cannot dodge the account's count)."""
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    account = (name if isinstance(name, str) else "").strip().casefold()[:64]
    return "account:" + account.encode("unicode_escape").decode("ascii")  # any text makes a Redis key


def _signed_in_account() -> str:
    return f"user:{current_user.id}"


def _limit(setting: str, scope: str, key_func: Callable[[], str] | None = None) -> RouteLimit:
    """A limit on failed POSTs, ``setting`` naming its rate (``"10 per 15 minutes"``); ``scope`` names the
    count, shared by every view the limit decorates; ``key_func`` tells whose count it is (by default the
    client address)."""
    return limiter.shared_limit(
        lambda: str(current_app.config[setting]),
        scope=scope,
        key_func=key_func,
        methods=["POST"],
        deduct_when=_failed,
    )


_LOGIN_PER_ACCOUNT = _limit("THROTTLE_LOGIN_PER_ACCOUNT", "login-account", _account_named)
_LOGIN_PER_ADDRESS = _limit("THROTTLE_LOGIN_PER_ADDRESS", "login-address")
_REGISTER_PER_ADDRESS = _limit("THROTTLE_REGISTER_PER_ADDRESS", "register-address")
_PASSWORD_CHANGE_PER_ACCOUNT = _limit(
    "THROTTLE_PASSWORD_CHANGE_PER_ACCOUNT", "password-change-account", _signed_in_account
)


def login_attempts(view: Callable[P, R]) -> Callable[P, R]:
    """Limit a view's failed logins per account named and per client address (the login page, the API's
    token request)."""
    return _LOGIN_PER_ACCOUNT(_LOGIN_PER_ADDRESS(view))


def registration_attempts(view: Callable[P, R]) -> Callable[P, R]:
    """Limit a view's refused registrations per client address."""
    return _REGISTER_PER_ADDRESS(view)


def password_change_attempts(view: Callable[P, R]) -> Callable[P, R]:
    """Limit a view's failed password changes per signed-in account (under ``login_required``)."""
    return _PASSWORD_CHANGE_PER_ACCOUNT(view)


def _retry_after_seconds(error: RateLimitExceeded) -> int:
    """Seconds until the breached limit lets an attempt through again."""
    breached = limiter.current_limit
    if breached is None:  # not expected: the limiter records the limit it refused
        return int(error.limit.limit.get_expiry())
    return max(1, math.ceil(breached.window.reset_time - time.time()))


def too_many_attempts(error: RateLimitExceeded) -> Response:
    """429 with ``Retry-After``: the house error page, or ``{"error": …}`` in the API."""
    seconds = _retry_after_seconds(error)
    minutes = max(1, math.ceil(seconds / 60))
    message = ngettext(
        "Too many failed attempts; try again in %(num)d minute.",
        "Too many failed attempts; try again in %(num)d minutes.",
        minutes,
    )
    if is_api_request():
        response = make_response(json_error(HTTP_CODES[429], message, {}, 429))
    else:
        response = make_response(render_template("errors/error.html", code=429, title=message), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def init_app(app: Flask) -> None:
    """Bind the limiter: Redis storage when ``REDIS_URL`` is set, this process's memory otherwise."""
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    if redis_url and app.config["RATELIMIT_STORAGE_URI"] == redis_url:
        # bounded, so a Redis out of reach costs a login at most seconds (then the memory fallback counts)
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, too_many_attempts)
