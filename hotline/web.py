"""The boundary of every web request and API call that changes something: one transaction, one commit, and
one place where domain errors become what the user sees.

A view parses its input and hands the service call to :func:`perform`:

- the call succeeds: :func:`perform` commits once and returns its result;
- it raises :class:`~hotline.errors.ValidationFailed` and the view gave its ``form``: everything is rolled
  back, each message is put next to its field (the rest is flashed) and :func:`perform` returns
  :data:`REFUSED`, so the view renders the form again (status 400);
- the database refuses a row a unique index already holds (two requests raced past the same check): it is
  rolled back and answered as a :class:`~hotline.errors.Conflict` (409, "someone else changed this");
- it raises any other domain error: everything is rolled back and the error goes on to the application's
  handler (:func:`hotline.errors.init_app`): the API answers ``{"error": …}`` with the error's status; a page
  answers 404 for :class:`~hotline.errors.NotFound`, and otherwise says the message above the page it
  redirects to (``back``, or the page the user came from).

So a view has no try/except ladder, nothing is ever half-saved, and the same refusal reads the same
everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar, overload

from flask import flash, g
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from hotline.errors import Conflict, DomainError, ValidationFailed
from hotline.extensions import db

T = TypeVar("T")


class _Refused:
    """The result of a call refused with field errors (they are on the form)."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "REFUSED"


REFUSED: Final = _Refused()
BACK_KEY = "hotline_refusal_back"  # in flask.g: where a page goes after a refusal


@overload
def perform(
    work: Callable[[], T],
    *,
    form: None = None,
    field_map: Mapping[str, str] | None = None,
    back: str | None = None,
) -> T: ...


@overload
def perform(
    work: Callable[[], T],
    *,
    form: FlaskForm,
    field_map: Mapping[str, str] | None = None,
    back: str | None = None,
) -> T | _Refused: ...


def perform(
    work: Callable[[], T],
    *,
    form: FlaskForm | None = None,
    field_map: Mapping[str, str] | None = None,
    back: str | None = None,
) -> T | _Refused:
    """Run ``work`` (one service call) in the request's one transaction; see the module's docstring."""
    if back is not None:
        setattr(g, BACK_KEY, back)
    try:
        result = work()
        db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        if form is None:
            raise
        apply_errors(form, error, field_map)
        return REFUSED
    except IntegrityError as error:
        db.session.rollback()
        if not is_unique_violation(error):
            raise
        # the services' checks passed, then another request wrote the same name, code or coverage first
        raise Conflict(
            _("Someone else changed this at the same moment. Reload the page and try again.")
        ) from None
    except BaseException:
        db.session.rollback()
        raise
    return result


def is_unique_violation(error: IntegrityError) -> bool:
    """Whether the database refused a row because a unique index already holds its key (PostgreSQL's
    SQLSTATE 23505, SQLite's UNIQUE constraint): a race two requests ran, not a mistake in the code."""
    import sqlite3

    import psycopg

    origin = error.orig
    if isinstance(origin, psycopg.errors.UniqueViolation):
        return True
    return isinstance(origin, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(origin)


def refused(result: object) -> bool:
    """Whether :func:`perform` refused the call with field errors."""
    return result is REFUSED


def apply_errors(form: FlaskForm, error: DomainError, field_map: Mapping[str, str] | None = None) -> None:
    """Put a domain error's per-field messages next to the form's fields; what has no field on the form is
    flashed above it, and an error without fields says its own message."""
    for name, message in error.fields.items():
        field_name = (field_map or {}).get(name, name)
        field = getattr(form, field_name, None)
        if field is not None and hasattr(field, "errors"):
            errors = list(field.errors) if isinstance(field.errors, (list, tuple)) else []
            errors.append(message)
            field.errors = errors
        else:
            flash(message, "danger")
    if not error.fields:
        flash(error.message, "danger")


def refusal_target() -> str | None:
    """Where the page that refused goes back to, if its view said so."""
    target: Any = g.get(BACK_KEY)
    return str(target) if target else None
