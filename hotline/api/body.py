"""Reading JSON request bodies: one object, each field of the JSON type it must have.

Only the JSON types are checked here; what the values mean (a known category, a phone number, a required
answer) is the services' business, so the web and the API refuse the same things with the same messages.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from hotline.errors import DomainError, ValidationFailed


class BadRequestBody(DomainError):
    """The body is not a JSON object (malformed JSON, an array, a bare string …)."""

    code = "bad_request"
    status = 400


class JsonBody:
    """The fields of a JSON object body; type errors are gathered and raised together by :meth:`checked`."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def text(self, name: str) -> str:
        """A string field; absent or null reads as ""."""
        value = self.data.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.errors[name] = _("Must be a string.")
            return ""
        return value

    def boolean(self, name: str) -> bool:
        """A required true/false field."""
        value = self.data.get(name)
        if not isinstance(value, bool):
            self.errors[name] = _("Must be true or false.")
            return False
        return value

    def checked(self) -> JsonBody:
        if self.errors:
            raise ValidationFailed(_("Please correct the marked fields."), dict(self.errors))
        return self


def json_body() -> JsonBody:
    """The request's JSON object; an empty body reads as ``{}`` (actions such as acknowledge need nothing)."""
    # Reading the body enforces MAX_CONTENT_LENGTH: werkzeug raises 413 here, before any parsing.
    if not request.get_data(cache=True).strip():
        return JsonBody({})
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise BadRequestBody(_("The request body must be a JSON object."))
    return JsonBody(data)
