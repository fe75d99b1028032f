"""Reading API bodies and query strings through the schemas, with the project's own error shape.

webargs (under flask-smorest) would answer a refused body with its own 422 document; here every refusal is a
domain error instead, so :func:`hotline.errors.init_app` answers it like any other: 400 with
``{"error": {"code", "message", "fields"}}``, each message in the caller's language; a list of objects (a
batch's ``items``) names each problem at its row, ``items.<n>.<field>``, as the services do.  A body that
is not a JSON object at all (malformed, an array, a bare string, nested too deep to read) is
``bad_request``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NoReturn

import flask
import marshmallow as ma
from flask_babel import gettext as _
from webargs import core
from webargs.flaskparser import FlaskParser

from hotline.errors import DomainError, ValidationFailed


class BadRequestBody(DomainError):
    """The body is not a JSON object (malformed JSON, an array, a bare string …)."""

    code = "bad_request"
    status = 400


def _row_fields(name: str, messages: Any) -> dict[str, str] | None:
    """A list of objects' messages by row and field (``{1: {"title": [...]}}``) named as the services name a
    batch's rows: ``items.1.title`` (``items.1`` for a row that is not an object); None for any other
    entry (a list of texts keeps one message under its own name)."""
    if not isinstance(messages, Mapping) or not messages:
        return None
    if not all(isinstance(k, int) and isinstance(v, Mapping) for k, v in messages.items()):
        return None
    named: dict[str, str] = {}
    for row, row_messages in messages.items():
        for field, value in row_messages.items():
            key = f"{name}.{row}" if field == "_schema" else f"{name}.{row}.{field}"
            named[key] = _first_message(value)
    return named


def _first_message(messages: Any) -> str:
    """The first message of a marshmallow error entry (a list, a nested dict, or a message itself)."""
    if isinstance(messages, Mapping):
        for value in messages.values():
            return _first_message(value)
        return _("This value is not allowed.")
    if isinstance(messages, list | tuple):
        return _first_message(messages[0]) if messages else _("This value is not allowed.")
    return str(messages)


@functools.cache
def _schema_of(schema_class: type[ma.Schema]) -> ma.Schema:
    return schema_class()


class Parser(FlaskParser):
    """A webargs parser that reads any body as JSON (whatever its Content-Type) and raises domain errors."""

    DEFAULT_VALIDATION_STATUS = 400

    def _get_schema(self, argmap: Any, req: flask.Request) -> ma.Schema:
        # A route's schema class is made into its instance once, not on every call (webargs would: making
        # one copies every declared field); the project's schemas keep no state between loads.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _schema_of(argmap)
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req: flask.Request) -> Any:
        data = req.get_data(cache=True)  # enforces MAX_CONTENT_LENGTH: 413 before any parsing
        if not data.strip():
            return core.missing  # an empty body reads as {} (acknowledge needs nothing)
        try:
            return core.parse_json(data)
        except RecursionError:
            raise BadRequestBody(_("The request body must be a JSON object.")) from None

    def _handle_invalid_json_error(
        self, error: Any, req: flask.Request, *args: Any, **kwargs: Any
    ) -> NoReturn:
        raise BadRequestBody(_("The request body must be a JSON object."))

    def handle_error(
        self,
        error: ma.ValidationError,
        req: flask.Request,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Mapping[str, str] | None,
    ) -> NoReturn:
        messages = error.messages
        if not isinstance(messages, Mapping):
            raise BadRequestBody(_("The request body must be a JSON object."))
        per_location: Any = messages
        if len(messages) == 1 and next(iter(messages)) in ("json", "query", "querystring", "view_args"):
            per_location = next(iter(messages.values()))
        if not isinstance(per_location, Mapping) or "_schema" in per_location:
            raise BadRequestBody(_("The request body must be a JSON object."))
        fields: dict[str, str] = {}
        for name, value in per_location.items():
            rows = _row_fields(str(name), value)
            fields.update(rows if rows is not None else {str(name): _first_message(value)})
        raise ValidationFailed(_("Please correct the marked fields."), fields)


PARSER = Parser()
