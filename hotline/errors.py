"""Domain errors raised by services and mapped to pages and API answers by the views."""

from __future__ import annotations


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
