"""Readiness, heartbeats, the managers' banner and request ids with a real worker and beat (issue 8, points 2
and 3): all ready while they run; the worker stopped, ``/readyz`` says so within seconds and the managers'
pages show the banner; the request id of a submission is in the worker's JSON log line for its routing.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from hotline import requestid
from hotline.auth.models import User
from hotline.ops import banner
from tests.helpers import RequestClient, login
from tests.integration.conftest import FIGURES, Hotline, Processes, wait_until

pytestmark = pytest.mark.integration

SILENT = 5  # seconds: the worker and beat thresholds here (production: 120)
KNOBS = {
    "HEALTH_HEARTBEAT_SECONDS": "1",
    "HEALTH_WORKER_SILENT_SECONDS": str(SILENT),
    "HEALTH_BEAT_SILENT_SECONDS": str(SILENT),
    "HEALTH_TASK_COUNTS_SECONDS": "1",
    "LOG_FORMAT": "json",
}


@pytest.fixture
def web(hotline: Hotline) -> Iterator[FlaskClient]:
    """The test process's application as the web, with the same short thresholds as the workers."""
    app = hotline.app
    saved = {key: app.config[key] for key in KNOBS if key in app.config}
    app.config.update(HEALTH_WORKER_SILENT_SECONDS=SILENT, HEALTH_BEAT_SILENT_SECONDS=SILENT)
    app.test_client_class = RequestClient
    app.extensions[banner.EXTENSION].forget()
    try:
        yield app.test_client()
    finally:
        app.config.update(saved)
        app.extensions[banner.EXTENSION].forget()


@pytest.fixture
def health_processes(hotline: Hotline, tmp_path: Path) -> Iterator[Processes]:
    manager = Processes({**hotline.env, **KNOBS}, tmp_path)
    try:
        yield manager
    finally:
        manager.stop_all()


def _readiness(web: FlaskClient) -> tuple[int, dict[str, Any]]:
    answer = web.get("/readyz")
    return answer.status_code, answer.get_json()


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def test_readyz_and_the_banner_follow_the_worker(
    hotline: Hotline, web: FlaskClient, health_processes: Processes
) -> None:
    worker = health_processes.worker("health-worker", concurrency=1)
    beat = health_processes.beat("health-beat")

    wait_until(
        lambda: _readiness(web)[0] == 200,
        45,
        message=lambda: f"not ready: {_readiness(web)[1]}\n{health_processes.log_tails()}",
    )

    # A submission under a request id: the worker's log line for its routing carries it.
    rid = "it-health-0001"
    with requestid.acting_as(rid):
        ticket_id = hotline.submit(0)

    def routing_line() -> dict[str, Any] | None:
        for line in _json_lines(worker.text()):
            if line.get("logger") == "hotline.routing.tasks" and f"request {ticket_id}:" in line["message"]:
                return line
        return None

    line = wait_until(routing_line, 30, message=lambda: worker.text()[-3000:])
    assert (
        line["request_id"] == rid
        and line["level"] == "INFO"
        and line.get("task", "").endswith("route_ticket")
    )

    manager = hotline.scalar(select(User.username).where(User.id == hotline.district.manager_id))
    login(web, manager)
    web.application.extensions[banner.EXTENSION].forget()
    assert "ops-banner" not in web.get("/account?lang=en").get_data(as_text=True)

    # The worker stops.  Beat goes on; the worker's heartbeat and the heartbeat task fall silent.
    stopped = time.monotonic()
    health_processes.kill(worker, signal.SIGTERM)

    def worker_failing() -> dict[str, Any] | None:
        status, body = _readiness(web)
        return body if status == 503 and "worker" in body["failing"] else None

    body = wait_until(worker_failing, SILENT + 25, message=lambda: f"worker not named: {_readiness(web)[1]}")
    noticed = time.monotonic() - stopped
    assert "worker" in body["failing"] and "beat" not in body["failing"], body
    assert body["checks"]["worker"]["ok"] is False

    web.application.extensions[banner.EXTENSION].forget()
    page = web.get("/account?lang=en").get_data(as_text=True)
    assert "ops-banner" in page and "Automatic routing has stopped: no worker has reported for" in page

    metrics = web.get("/metrics").get_data(as_text=True)
    runs = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('hotline_task_runs_total{task="hotline.routing.tasks.route_ticket"}')
    ]
    assert runs and runs[0] >= 1, metrics[-2000:]
    assert 'hotline_heartbeat_timestamp_seconds{component="beat"' in metrics
    assert beat.alive()

    FIGURES.append(
        f"health: worker stopped (SIGTERM) → /readyz 503 naming it after {noticed:.1f} s "
        f"(worker silence threshold {SILENT} s, heartbeats every {KNOBS['HEALTH_HEARTBEAT_SECONDS']} s); "
        f"the submission's request id in the worker's routing log line"
    )
