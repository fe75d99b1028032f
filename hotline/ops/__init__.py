"""Operations: health and readiness, heartbeats, the managers' status banner, metrics, logs, request ids.

``init_app`` wires the web side: ``/healthz``, ``/readyz``, ``/metrics``, ``/ops/status`` (:mod:`.views`), the
request id of each request (:mod:`.requestid`) in the ``X-Request-ID`` header and the logs (:mod:`.logs`),
the request metrics (:mod:`.metrics`), the banner (:mod:`.banner`), and the heartbeat task.  What only worker
and beat processes do (write heartbeats, count tasks, JSON logs under Celery) is installed by
``worker/app.py`` through :mod:`hotline.ops.worker`.
"""

from __future__ import annotations

from flask import Flask, g, request
from werkzeug.wrappers import Response

from hotline import requestid

_TOKEN = "hotline_request_id_token"  # in flask.g: to reset the context variable after the request


def init_app(app: Flask) -> None:
    from hotline.extensions import csrf, limiter
    from hotline.ops import banner, logs, metrics, tasks  # noqa: F401  (tasks: the heartbeat task is registered)
    from hotline.ops.views import bp

    logs.install(app)
    requestid.connect_signals()
    _init_request_id(app)
    metrics.init_app(app)
    banner.init_app(app)
    app.register_blueprint(bp)
    csrf.exempt(bp)  # GET only; no form to protect
    limiter.exempt(bp)


def _init_request_id(app: Flask) -> None:
    def start() -> None:
        value = requestid.accept(request.headers.get(requestid.HEADER))
        setattr(g, _TOKEN, requestid.set_current(value))

    def answer(response: Response) -> Response:
        value = requestid.current()
        if value:
            response.headers[requestid.HEADER] = value
        return response

    def end(error: BaseException | None) -> None:
        token = g.pop(_TOKEN, None)
        if token is not None:
            requestid.reset(token)

    # first of all: every log line of the request, from any other hook on, carries the id
    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request(answer)
    app.teardown_request(end)
