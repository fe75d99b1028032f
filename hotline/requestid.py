"""The request id: one token per web request, in every log line it causes, here and in the workers.

It is taken from the client's ``X-Request-ID`` when that is a sane token (a proxy or a load balancer sets
one), else made up; answered in the ``X-Request-ID`` response header; kept in a context variable, read by
the log filter (:mod:`hotline.ops.logs`).  Tasks published while it is set carry it in their message headers
(Celery's ``before_task_publish``), and a worker sets it again while it runs such a task (``task_prerun``),
so the routing task's log lines name the submission that caused them.  An outbox row keeps the id of the
request that wrote it (``outbox_messages.request_id``), for the beat relay that publishes it later.
It lives in the shell, below the outbox that keeps it.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import uuid
from collections.abc import Iterator
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

HEADER = "X-Request-ID"
# the name of the Celery message header (it becomes an attribute of ``task.request``)
TASK_HEADER = "hotline_request_id"
SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("hotline_request_id", default=None)
# tokens to reset the variable after each task, by task id
_task_tokens: dict[str, contextvars.Token[str | None]] = {}


def current() -> str | None:
    """The request id in force here (a web request, or a task published from one), or None."""
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex


def accept(value: str | None) -> str:
    """The client's id if it is a sane token (at most 64 of ``A-Z a-z 0-9 . _ -``), else a new one."""
    if value and SANE.fullmatch(value):
        return value
    return new_id()


def set_current(value: str | None) -> contextvars.Token[str | None]:
    return _current.set(value)


def reset(token: contextvars.Token[str | None]) -> None:
    with contextlib.suppress(ValueError):  # a token of another context (a test switching contexts)
        _current.reset(token)


@contextlib.contextmanager
def acting_as(value: str | None) -> Iterator[None]:
    """While the block runs, the request id is ``value`` (e.g. an outbox row's, while the relay publishes it).

    ``None`` leaves the id in force alone.
    """
    if value is None:
        yield
        return
    token = _current.set(value)
    try:
        yield
    finally:
        reset(token)


# --------------------------------------------------------------------------- Celery


def add_to_headers(headers: dict[str, Any] | None) -> None:
    """Put the current request id into a task message's headers (unless it already has one)."""
    value = current()
    if value and headers is not None:
        headers.setdefault(TASK_HEADER, value)


def _before_publish(sender: Any = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    add_to_headers(headers)


def start_task(task_id: str | None, request: Any) -> None:
    """In a worker: the request id of the message being run (None when it carried none)."""
    value = getattr(request, TASK_HEADER, None)
    token = _current.set(value if isinstance(value, str) and SANE.fullmatch(value) else None)
    if task_id:
        _task_tokens[task_id] = token


def end_task(task_id: str | None) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        reset(token)


def _prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    start_task(task_id, getattr(task, "request", None))


def _postrun(task_id: str | None = None, **_: Any) -> None:
    end_task(task_id)


def connect_signals() -> None:
    """Connect the Celery signals once per process (``dispatch_uid``: creating apps again adds nothing)."""
    before_task_publish.connect(_before_publish, weak=False, dispatch_uid="hotline.ops.request_id.publish")
    task_prerun.connect(_prerun, weak=False, dispatch_uid="hotline.ops.request_id.prerun")
    task_postrun.connect(_postrun, weak=False, dispatch_uid="hotline.ops.request_id.postrun")
