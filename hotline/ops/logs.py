"""Logs: one JSON object a line on stderr in production, for the web and the workers alike.

Each line has ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message`` and ``request_id`` (null outside a
request and the tasks it caused; :mod:`hotline.requestid`), inside a task also ``task`` and ``task_id``,
and ``exc_info`` when there is a traceback.  ``LOG_FORMAT`` chooses: ``json`` (the production default) or
``plain`` (the development default: the readable lines of Flask and Celery, untouched).

python-json-logger formats: it is a ``logging.Formatter``, so it fits the standard library logging that
Flask, gunicorn, SQLAlchemy and Celery already use (structlog would have to be bridged to it anyway).  The
web installs the handler on the root logger (:func:`install`); a worker or beat lets Celery set its logging
up as usual and then gives Celery's handlers this formatter (``hotline.ops.worker``).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

from hotline import requestid

FIELDS = ("levelname", "name", "message")
RENAMED = {"levelname": "level", "name": "logger"}


class ContextFilter(logging.Filter):
    """Adds ``request_id`` (and, inside a Celery task, ``task`` and ``task_id``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = requestid.current()
        if not hasattr(record, "task_id"):
            from celery import current_task

            task = current_task._get_current_object() if current_task else None
            if task is not None and getattr(task, "request", None) is not None and task.request.id:
                record.task = task.name
                record.task_id = task.request.id
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        list(FIELDS),
        rename_fields=RENAMED,
        timestamp="time",  # ISO 8601 in UTC, first in the line
        defaults={"request_id": None},
    )


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the moment (a test capturing it, gunicorn's redirection)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # logging.StreamHandler.__init__ assigns it
        pass


def use_json(handler: logging.Handler) -> None:
    """Make ``handler`` write JSON lines with the request id (idempotent)."""
    handler.setFormatter(json_formatter())
    if not any(isinstance(f, ContextFilter) for f in handler.filters):
        handler.addFilter(ContextFilter())


def install(app: Flask) -> logging.Handler | None:
    """In JSON mode, one JSON handler on the root logger (once per process) at ``LOG_LEVEL``; returns it.

    Flask's own handler on ``app.logger`` is taken off, so the application's messages are not written twice.
    """
    if app.config.get("LOG_FORMAT") != "json":
        return None
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)
    root = logging.getLogger()
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    for handler in root.handlers:
        if isinstance(handler, StderrHandler):
            return handler
    handler = StderrHandler()
    use_json(handler)
    root.addHandler(handler)
    return handler
