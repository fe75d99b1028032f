"""Small helpers shared by the page views."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from hotline.auth.models import Role
from hotline.errors import DomainError

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


def apply_errors(form: FlaskForm, error: DomainError, field_map: Mapping[str, str] | None = None) -> None:
    """Put a domain error's per-field messages next to the form's fields; the rest becomes a flash message."""
    placed = False
    for name, message in error.fields.items():
        field_name = (field_map or {}).get(name, name)
        field = getattr(form, field_name, None)
        if field is not None and hasattr(field, "errors"):
            errors = list(field.errors) if isinstance(field.errors, (list, tuple)) else []
            errors.append(message)
            field.errors = errors
            placed = True
    if not placed:
        flash(error.message, "danger")


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: a ``next=`` parameter never leads elsewhere."""
    # Browsers drop tabs and newlines and read a backslash as a slash, so "/\t/evil" or "/\\evil" would leave.
    if not target or not target.isprintable():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target
