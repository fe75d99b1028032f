"""Throttling of failed logins, token requests, registrations and password changes (Flask-Limiter).

Only failures count.  Each limit is tested before its view runs, so a client or an account over its limit is
refused with 429 whatever it sends (even the right password), and it is deducted after the view only when the
view called :func:`count_failure` (Flask-Limiter's ``deduct_when``): a successful login, registration or
password change never uses up an attempt, and a refused (429) attempt does not either.

- Logging in, on the login page and with ``POST /api/v1/tokens`` (the two share their counts): per account
  named, so one account's password cannot be guessed from many addresses; and per client address, so one
  client cannot try many accounts.  The address limit is the higher one: people behind one office address
  share it.  Another account, logging in from another address, is never held up by someone else's failures.
  Nor is the owner's own browser: a successful login on the page leaves a signed device cookie
  (:func:`remember_device`, 180 days, up to 10 accounts per browser), and from that browser the account's
  count is that browser's own and the address limit does not apply (OWASP's device cookies).  A guesser
  locks out only browsers the account never used.  API clients carry no cookie: their token requests count
  per account and address as before.
- Registering an enterprise: refused registrations per client address.
- Changing one's password: wrong current passwords per account.
- Asking for a password reset link ("forgot your password"): *every* request counts, per account named
  (username or e-mail address as typed, whether or not it exists, so the limit tells nothing) and per client
  address; and reset links that do not work (unknown, used, expired) per client address.

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
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from flask import current_app, g, make_response, render_template, request
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from itsdangerous import BadData, URLSafeSerializer

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


def _named(field: str = "username", length: int = 64) -> str:
    """The account a login form or token request names: its username as typed, case-folded (so a case
    variant cannot dodge the account's count)."""
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get(field) if isinstance(body, dict) else None
    else:
        name = request.form.get(field)
    return (name if isinstance(name, str) else "").strip().casefold()[:length]


def _reset_named() -> str:
    """The username or e-mail address a "forgot your password" form names, as typed (case-folded)."""
    return "reset:" + _named("account", 254).encode("unicode_escape").decode("ascii")


def _account_named() -> str:
    """Whose count a login attempt is: the account named, or, from a browser that logged in to that account
    before (its device cookie), that account on that device only — so someone else's failures on the
    account never lock its owner's own browser out."""
    account = "account:" + _named().encode("unicode_escape").decode("ascii")  # any text makes a Redis key
    device = _known_device(_named())
    return f"{account}:device:{device}" if device else account


# --------------------------------------------------------------------------- device cookies

DEVICE_COOKIE = "hotline_device"
DEVICE_DAYS = 180
DEVICE_ACCOUNTS_MAX = 10  # accounts remembered by one browser (a shared office computer)


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="hotline.throttle.device")


def _device() -> dict[str, Any] | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        value = _device_serializer().loads(raw)
    except BadData:
        return None
    if not (isinstance(value, dict) and isinstance(value.get("d"), str) and isinstance(value.get("a"), list)):
        return None
    return value


def _known_device(account: str) -> str | None:
    """The id of this browser's device cookie when the account logged in from it before, else None."""
    device = _device()
    if device is None or not account or account not in device["a"]:
        return None
    return str(device["d"])


def _known_device_for_named() -> bool:
    return _known_device(_named()) is not None


def remember_device(response: Response, username: str) -> Response:
    """After a successful login on the login page: this browser is the account's own from now on (signed,
    HttpOnly cookie; the account's count for it is its own, and the address limit does not apply to it)."""
    device = _device() or {"d": secrets.token_hex(12), "a": []}
    account = username.strip().casefold()[:64]
    others = [a for a in device["a"] if a != account][-(DEVICE_ACCOUNTS_MAX - 1) :]
    accounts = [*others, account]
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps({"d": device["d"], "a": accounts}),
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        samesite="Lax",
    )
    return response


def _signed_in_account() -> str:
    return f"user:{current_user.id}"


def _limit(
    setting: str,
    scope: str,
    key_func: Callable[[], str] | None = None,
    exempt_when: Callable[[], bool] | None = None,
) -> RouteLimit:
    """A limit on failed POSTs, ``setting`` naming its rate (``"10 per 15 minutes"``); ``scope`` names the
    count, shared by every view the limit decorates; ``key_func`` tells whose count it is (by default the
    client address); ``exempt_when`` which requests it does not apply to."""
    return limiter.shared_limit(
        lambda: str(current_app.config[setting]),
        scope=scope,
        key_func=key_func,
        methods=["POST"],
        deduct_when=_failed,
        exempt_when=exempt_when,
    )


_LOGIN_PER_ACCOUNT = _limit("THROTTLE_LOGIN_PER_ACCOUNT", "login-account", _account_named)
# a browser that logged in to the account named before is not held up by its office address's count
_LOGIN_PER_ADDRESS = _limit(
    "THROTTLE_LOGIN_PER_ADDRESS", "login-address", exempt_when=_known_device_for_named
)
_REGISTER_PER_ADDRESS = _limit("THROTTLE_REGISTER_PER_ADDRESS", "register-address")
_PASSWORD_CHANGE_PER_ACCOUNT = _limit(
    "THROTTLE_PASSWORD_CHANGE_PER_ACCOUNT", "password-change-account", _signed_in_account
)


_RESET_REQUEST_PER_ACCOUNT = _limit(
    "THROTTLE_RESET_REQUEST_PER_ACCOUNT", "reset-request-account", _reset_named
)
_RESET_REQUEST_PER_ADDRESS = _limit("THROTTLE_RESET_REQUEST_PER_ADDRESS", "reset-request-address")
_RESET_LINK_PER_ADDRESS = _limit("THROTTLE_RESET_LINK_PER_ADDRESS", "reset-link-address")
_EVERY_ATTEMPT = "hotline_throttle_every_attempt"  # on a view whose every request counts (its 429 says so)


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


def reset_requests(view: Callable[P, R]) -> Callable[P, R]:
    """Limit a view's password reset requests per account named (form field ``account``) and per client
    address; the view calls :func:`count_failure` for every request it takes, found or not."""
    limited = _RESET_REQUEST_PER_ACCOUNT(_RESET_REQUEST_PER_ADDRESS(view))
    setattr(limited, _EVERY_ATTEMPT, True)
    return limited


def reset_link_attempts(view: Callable[P, R]) -> Callable[P, R]:
    """Limit a view's tries of reset links that do not work, per client address."""
    return _RESET_LINK_PER_ADDRESS(view)


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
    if getattr(current_app.view_functions.get(request.endpoint or ""), _EVERY_ATTEMPT, False):
        message = ngettext(
            "Too many requests; try again in %(num)d minute.",
            "Too many requests; try again in %(num)d minutes.",
            minutes,
        )
    else:
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
