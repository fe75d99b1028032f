"""``/healthz``, ``/readyz``, ``/metrics`` for the monitoring, and ``/ops/status`` for managers.

The first three are public (no login; ``/metrics`` and the details of ``/readyz`` — hosts, errors, counts —
are for the monitoring only in production, see :func:`hotline.ops.metrics.allowed`), answer ``Cache-Control:
no-store``, set no cookie, are not throttled and never answer 500: a database out of reach is a 503 naming the
failing check. They are not part of the API (not under ``/api/``, not in its OpenAPI document).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, jsonify, render_template
from prometheus_client import CONTENT_TYPE_LATEST
from werkzeug.wrappers import Response

from hotline.auth.access import roles_required
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.ops import health, metrics

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Any:
    """The process answers; nothing else is touched."""
    return _no_store(jsonify({"status": "ok"}))


@bp.get("/readyz")
def readyz() -> Any:
    """Every readiness check, 200 when all pass, else 503 (and a warning naming the failing ones)."""
    now = utcnow()
    checks = health.readiness(now)
    failing = [check.name for check in checks if not check.ok]
    if failing:
        log.warning("not ready: %s", ", ".join(failing))
    body: dict[str, Any] = {
        "status": "fail" if failing else "ok",
        "failing": failing,
        "checked_at": now.isoformat(),
    }
    if metrics.allowed():  # the details (hosts, errors, counts) only for the monitoring, as the metrics
        body["checks"] = {check.name: check.as_json(now) for check in checks}
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    return _no_store(response)


@bp.get("/metrics")
def metrics_view() -> Any:
    """The Prometheus metrics; 404 (as if there were none) for a client that may not read them."""
    if not metrics.allowed():
        abort(404)
    response = Response(metrics.exposition(), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return _no_store(response)


@bp.get("/ops/status")
@roles_required(Role.MANAGER)
def status() -> Any:
    """The readiness checks as a table, for managers."""
    now = utcnow()
    checks = health.readiness(now)
    return render_template("ops/status.html", checks=checks, now=now)
