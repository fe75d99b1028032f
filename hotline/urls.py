"""What a URL and a form may carry before any view, and so the database, sees them.

- ``<int:…>`` in every route is :class:`BoundedInt`: an id past the largest BIGINT names no row and would
  overflow the driver (SQLite raises ``OverflowError``, PostgreSQL ``NumericValueOutOfRange``), so such a
  URL matches no route: 404.
- ``<uscc:…>`` is :class:`UsccConverter`: a 统一社会信用代码 (18 characters of its alphabet, either case),
  tried before ``int`` where both could match, so an all-digit code (the alphabet starts with the digits, and
  such codes exist) reaches the route of the code, never that of an id (no row has an 18-digit id).
- ``page`` and ``per_page`` in the query string of a page must be whole numbers in range (``db.paginate``
  reads them from the query string itself), else the page answers 400.  The API checks its own through its
  schemas (:class:`hotline.api.schemas.PageArgs`), with field messages.
- Control characters (NUL above all: PostgreSQL refuses it in text) are refused in the query string and the
  form values of a page with a 400 page; a form value may break lines (textareas).  The API refuses them in
  its bodies and query fields through its schemas, with field messages.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask_babel import gettext as _
from werkzeug.routing import BaseConverter, IntegerConverter, Map, ValidationError

from hotline.api.schemas import ID_MAX, PAGE_MAX, PER_PAGE_MAX
from hotline.errors import is_api_request
from hotline.text import has_control_characters

# the number of digits of ID_MAX: a longer value is out of range without converting it
_ID_DIGITS = len(str(ID_MAX))
_PAGE_ARGS = (("page", PAGE_MAX), ("per_page", PER_PAGE_MAX))


class BoundedInt(IntegerConverter):
    """Flask's ``int`` converter, bounded by what a BIGINT column holds (or tighter, where a route says)."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,  # the names of werkzeug's arguments (``<int(max=…):…>``)
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        low = -ID_MAX - 1 if min is None or min < -ID_MAX - 1 else min
        high = ID_MAX if max is None or max > ID_MAX else max
        super().__init__(map, fixed_digits=fixed_digits, min=low, max=high, signed=signed)

    def to_python(self, value: str) -> Any:
        if len(value.lstrip("-").lstrip("0")) > _ID_DIGITS:
            raise ValidationError()
        return super().to_python(value)


class UsccConverter(BaseConverter):
    """A 统一社会信用代码 in a path, upper-cased: 18 letters or digits (the view checks the alphabet and finds
    the enterprise; a malformed code answers 404 there, without a query).  Its weight is below the ``int``
    converter's (50): werkzeug tries the lighter converter first, so ``/enterprises/911101050000000123``
    is that enterprise's profile, not the enterprise of id 911101050000000123."""

    regex = "[0-9A-Za-z]{18}"
    weight = 40

    def to_python(self, value: str) -> str:
        return value.upper()


def _whole_number_in(value: str, high: int) -> bool:
    """Whether ``value`` is written as a whole number from 1 to ``high`` (digits only: no sign, no spaces)."""
    return (
        value.isascii() and value.isdigit() and len(value) <= len(str(high)) + 3 and 1 <= int(value) <= high
    )


def _refusal_page(title: str) -> tuple[str, int]:
    return render_template("errors/error.html", code=400, title=title), 400


def refuse_bad_page_numbers() -> tuple[str, int] | None:
    """A page whose ``page`` or ``per_page`` is not a whole number in range answers 400."""
    if is_api_request():
        return None
    for name, high in _PAGE_ARGS:
        if any(not _whole_number_in(value, high) for value in request.args.getlist(name)):
            return _refusal_page(_("This page number is not valid."))
    return None


def refuse_control_characters() -> tuple[str, int] | None:
    """A page whose query string or form holds a control character answers 400, before any query runs."""
    if is_api_request():
        return None
    in_query = any(
        has_control_characters(key, multiline=False) or has_control_characters(value, multiline=False)
        for key, value in request.args.items(multi=True)
    )
    in_form = request.method in ("POST", "PUT", "PATCH", "DELETE") and any(
        has_control_characters(key, multiline=False) or has_control_characters(value, multiline=True)
        for key, value in request.form.items(multi=True)
    )
    if in_query or in_form:
        return _refusal_page(_("What you sent contains characters that are not allowed."))
    return None


def init_app(app: Flask) -> None:
    """Bound ``<int:…>`` and check query strings and forms; before any blueprint adds its routes."""
    if any(
        isinstance(c, IntegerConverter)
        for rule in app.url_map.iter_rules()
        for c in rule._converters.values()
    ):
        # a rule takes its converter when it is added: the rules added so far would stay unbounded
        raise RuntimeError("hotline.urls.init_app(app) must come before the routes are registered")
    app.url_map.converters["int"] = BoundedInt
    app.url_map.converters["uscc"] = UsccConverter
    app.before_request(refuse_control_characters)
    app.before_request(refuse_bad_page_numbers)
