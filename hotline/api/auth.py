"""Bearer-token authentication of API calls (RFC 6750)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import g, request
from flask_babel import gettext as _

from hotline.auth import services as accounts
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")


class AuthenticationRequired(DomainError):
    """No usable credentials: answered with 401 and a ``WWW-Authenticate: Bearer`` challenge."""

    code = "unauthorized"
    status = 401

    def __init__(self, message: str, *, invalid_token: bool = False) -> None:
        super().__init__(message)
        self.invalid_token = invalid_token

    @property
    def challenge(self) -> str:
        if self.invalid_token:
            return 'Bearer realm="api", error="invalid_token"'
        return 'Bearer realm="api"'


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_required(view: Callable[P, R]) -> Callable[P, R]:
    """Let the call through only with a valid, unexpired, unrevoked token; its user is :func:`api_user`."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = bearer_token()
        if token is None:
            raise AuthenticationRequired(_("Send an API token: Authorization: Bearer <token>."))
        user = accounts.user_for_token(token, utcnow())
        if user is None:
            raise AuthenticationRequired(
                _("The API token is invalid, expired or revoked."), invalid_token=True
            )
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper


def api_user() -> User:
    """The user behind the token of the current call (only inside a :func:`token_required` view)."""
    user: User = g.api_user
    return user
