"""Health, readiness, the managers' status banner, metrics and request ids, through the test client
(issue 8, points 2 and 3).  The real worker, beat and Redis are in tests/integration/test_health.py."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hotline import create_app
from hotline.db import utcnow
from hotline.extensions import db
from hotline.ops import banner, health, heartbeats, logs
from hotline.ops.models import Component, TaskCount
from tests.factories import World
from tests.helpers import RequestClient, login, test_config

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/hotline"  # nothing listens on port 1


def _all_fresh(now=None) -> None:  # type: ignore[no-untyped-def]
    """Every heartbeat just written, as by a running worker, beat and sweep."""
    now = now or utcnow()
    for component in Component:
        if component == Component.TASKS:  # the heartbeat task of each queue, taken by its worker
            for queue in health.QUEUES:
                heartbeats.record(component, f"{queue}/node-1@test", now, pid=1)
        else:
            heartbeats.record(component, "node-1@test", now, pid=1)
    db.session.commit()


def test_a_queue_whose_workers_stopped_fails_readiness_while_the_others_run(app: Flask) -> None:
    """A routing worker that died is seen even while the default workers take their heartbeat task."""
    now = utcnow()
    _all_fresh(now)
    heartbeats.record(Component.TASKS, "routing/node-1@test", now - timedelta(minutes=5), pid=1)
    check = next(c for c in health.work_checks(now) if c.name == "tasks")
    assert not check.ok
    assert "routing: last 300 s ago (over 120 s)" in check.detail and "default: last 0 s ago" in check.detail


@pytest.fixture
def fresh_banner(app: Flask) -> Iterator[None]:
    """The banner reads the checks again at the next page (its cache is per process)."""
    app.extensions[banner.EXTENSION].forget()
    yield
    app.extensions[banner.EXTENSION].forget()


def test_healthz_answers_without_touching_anything(client: FlaskClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok"}
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answer.headers


def test_readyz_passes_what_is_fresh_and_names_what_is_not(client: FlaskClient, world: World) -> None:
    _all_fresh()
    answer = client.get("/readyz")
    body = answer.get_json()
    # No Redis in these tests: the broker is "not configured", the one failing check.
    assert answer.status_code == 503 and body["failing"] == ["broker"]
    assert body["checks"]["broker"]["detail"].startswith("not configured")
    assert body["checks"]["database"]["ok"] is True
    assert answer.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in answer.headers

    # The worker stopped three minutes ago (the threshold is two).
    heartbeats.record(Component.WORKER, "node-1@test", utcnow() - timedelta(minutes=3), pid=1)
    db.session.commit()
    body = client.get("/readyz").get_json()
    assert body["failing"] == ["broker", "worker"]
    assert body["checks"]["worker"]["ok"] is False and body["checks"]["worker"]["age_seconds"] >= 180
    assert "silent for over 120 s" in body["checks"]["worker"]["detail"]


def test_readyz_counts_requests_left_unrouted_and_an_outbox_backlog(
    client: FlaskClient, world: World
) -> None:
    _all_fresh()
    now = utcnow()
    stuck = world.submit(now - timedelta(minutes=7))  # its routing message was never published
    world.submit(now)  # just submitted: not late yet
    db.session.commit()
    body = client.get("/readyz").get_json()
    assert set(body["failing"]) == {"broker", "unrouted", "outbox"}
    assert body["checks"]["unrouted"]["count"] == 1
    assert body["checks"]["unrouted"]["at"] == stuck.created_at.isoformat()
    assert body["checks"]["outbox"]["count"] == 1 and body["checks"]["outbox"]["age_seconds"] >= 7 * 60


def test_readyz_with_the_database_down_is_a_503_naming_it() -> None:
    app = create_app(
        test_config(
            SQLALCHEMY_DATABASE_URI=UNREACHABLE,
            SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
        )
    )
    app.test_client_class = RequestClient
    with app.app_context():
        client = app.test_client()
        answer = client.get("/readyz")
        body = answer.get_json()
        assert answer.status_code == 503 and body["checks"]["database"]["ok"] is False
        assert body["checks"]["database"]["detail"].startswith("unreachable: OperationalError")
        assert body["checks"]["worker"]["detail"] == "not checked: the database is unreachable"
        assert client.get("/healthz").status_code == 200  # the process itself still answers
        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and "hotline_database_up 0.0" in metrics.get_data(as_text=True)
        db.engine.dispose()


def test_the_banner_warns_managers_and_only_them(
    client: FlaskClient, world: World, fresh_banner: None
) -> None:
    login(client, world.manager.username)
    page = client.get("/account?lang=en").get_data(as_text=True)  # no heartbeat ever: nothing runs
    assert 'data-checks="worker,beat,sweep"' in page
    assert "Automatic routing has stopped: no worker has reported yet." in page
    assert 'href="/ops/status"' in page

    for username in (world.contact.username, world.liaison.username):
        other = client.application.test_client()
        login(other, username)
        assert "ops-banner" not in other.get("/account").get_data(as_text=True)

    # Everything runs again: once the cache has expired the banner is gone.
    _all_fresh()
    assert "ops-banner" in client.get("/account").get_data(as_text=True)  # still the cached reading
    client.application.extensions[banner.EXTENSION].forget()
    assert "ops-banner" not in client.get("/account").get_data(as_text=True)


def test_the_banner_says_since_when_the_worker_is_silent(
    client: FlaskClient, world: World, fresh_banner: None
) -> None:
    _all_fresh()
    heartbeats.record(Component.WORKER, "node-1@test", utcnow() - timedelta(minutes=9), pid=1)
    db.session.commit()
    login(client, world.admin.username)
    page = client.get("/account?lang=en").get_data(as_text=True)
    assert 'data-checks="worker"' in page
    assert "Automatic routing has stopped: no worker has reported for 9 minutes." in page


def test_the_status_page_is_for_managers(client: FlaskClient, world: World) -> None:
    _all_fresh()
    login(client, world.manager.username)
    page = client.get("/ops/status")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-check="worker" data-ok="true"' in html and 'data-check="broker" data-ok="false"' in html
    liaison = client.application.test_client()
    login(liaison, world.liaison.username)
    assert liaison.get("/ops/status").status_code == 403


def _sample(text: str, metric: str, **labels: str) -> float:
    """The value of one sample of the metrics text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(metric + "{") or line.startswith(metric + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(key) == value for key, value in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_after_a_few_requests(client: FlaskClient, world: World) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/page")
    now = utcnow()
    world.submit(now - timedelta(minutes=10))  # unrouted, its outbox message unpublished
    heartbeats.add_task_counts({"hotline.routing.tasks.route_ticket": (5, 1, 2)}, now)
    heartbeats.record(Component.BEAT, "beat-host", now)
    db.session.commit()

    answer = client.get("/metrics")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    assert answer.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in answer.headers
    requests = "hotline_http_requests_total"
    ok = {"endpoint": "ops.healthz", "method": "GET", "status": "200"}
    assert _sample(text, requests, **ok) - _sample(before, requests, **ok) == 3
    # an unknown path is counted under one label value, not its path
    assert _sample(text, requests, endpoint="<unmatched>", status="404") >= 1
    assert "/no/such/page" not in text
    assert _sample(text, "hotline_http_request_duration_seconds_count", endpoint="ops.healthz") >= 3
    assert _sample(text, "hotline_unrouted_requests") == 1
    assert _sample(text, "hotline_outbox_backlog_messages") == 1
    assert _sample(text, "hotline_overdue_open_requests") == 0
    task = {"task": "hotline.routing.tasks.route_ticket"}
    assert _sample(text, "hotline_task_runs_total", **task) == 5
    assert _sample(text, "hotline_task_failures_total", **task) == 1
    assert _sample(text, "hotline_task_retries_total", **task) == 2
    beat = _sample(text, "hotline_heartbeat_timestamp_seconds", component="beat", name="beat-host")
    assert abs(beat - now.timestamp()) < 1
    assert _sample(text, "hotline_check_ok", check="beat") == 1
    assert _sample(text, "hotline_check_ok", check="worker") == 0
    assert db.session.get(TaskCount, "hotline.routing.tasks.route_ticket") is not None


def test_metrics_in_production_only_for_internal_addresses_or_the_token(
    app: Flask, client: FlaskClient
) -> None:
    app.config["HOTLINE_ENV"] = "production"
    public = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=public).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    # a public client relayed by a proxy on the private network
    relayed = client.get(
        "/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}, headers={"X-Forwarded-For": "203.0.113.7"}
    )
    assert relayed.status_code == 404

    app.config["METRICS_TOKEN"] = "s3cret-metrics-token"
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404
    wrong = client.get("/metrics", environ_base=public, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404
    right = client.get(
        "/metrics", environ_base=public, headers={"Authorization": "Bearer s3cret-metrics-token"}
    )
    assert right.status_code == 200 and "hotline_http_requests_total" in right.get_data(as_text=True)


def test_readiness_details_in_production_only_for_the_monitoring(app: Flask, client: FlaskClient) -> None:
    """The public sees whether the service is ready and what fails; hosts, errors and counts are the
    monitoring's (the same rule as the metrics)."""
    app.config["HOTLINE_ENV"] = "production"
    public = client.get("/readyz", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert public.status_code == 503  # no worker or beat here
    body = public.get_json()
    assert set(body) == {"status", "failing", "checked_at"} and "worker" in body["failing"]
    internal = client.get("/readyz", environ_base={"REMOTE_ADDR": "10.1.2.3"}).get_json()
    assert internal["checks"]["worker"]["ok"] is False and internal["checks"]["database"]["ok"] is True


def test_metrics_and_health_are_not_in_the_api_document(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert not any(word in path for path in paths for word in ("healthz", "readyz", "metrics"))


def test_the_request_id_is_echoed_or_made(client: FlaskClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "lb-2f9.a_7"}).headers["X-Request-ID"] == "lb-2f9.a_7"
    )
    for bad in ("x" * 65, "spaces are not allowed", "semi;colon"):
        made = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert made != bad and re.fullmatch(r"[0-9a-f]{32}", made)
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_json_log_lines_carry_the_request_id(
    app: Flask, client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    app.config["LOG_FORMAT"] = "json"
    handler = logs.install(app)
    assert handler is not None
    try:
        client.get("/readyz", headers={"X-Request-ID": "req-42"})  # not ready here: one warning line
        logging.getLogger("hotline.test").info("outside any request")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    warning = next(line for line in lines if line["message"].startswith("not ready:"))
    assert warning["request_id"] == "req-42"
    assert warning["level"] == "WARNING" and warning["logger"] == "hotline.ops.views"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", warning["time"])
    outside = next(line for line in lines if line["message"] == "outside any request")
    assert outside["request_id"] is None
