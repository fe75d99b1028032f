"""Who may open a page: the role check every page view carries, and safe ``next=`` targets."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user, login_required

from hotline.auth.models import Role

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Log in first; then 403 unless the user has one of ``roles`` (admins pass wherever managers do)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            allowed = set(roles)
            if Role.MANAGER in allowed:
                allowed.add(Role.ADMIN)
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: a ``next=`` parameter never leads elsewhere."""
    # Browsers drop tabs and newlines and read a backslash as a slash, so "/\t/evil" or "/\\evil" would leave.
    if not target or not target.isprintable():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target
