"""Prometheus metrics at ``/metrics`` (prometheus_client, the project's own client library).

- ``hotline_http_request_duration_seconds`` (histogram) and ``hotline_http_requests_total`` (counter), by
  Flask endpoint name (never the raw path: the label values are bounded by the routes), method and, for the
  counter, status.  Kept by each web process; under gunicorn's several processes set
  ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder, emptied at each start) and every process adds to files
  there, which any one of them reads when scraped (prometheus_client's multiprocess mode).
- Read from the database at each scrape, so that they are the same whichever process answers and whichever
  machine the workers run on: the outbox backlog, unrouted requests, overdue open requests, the last
  heartbeat of each worker, beat and the sweep (unix time), the readiness checks, and task runs, failures and
  retries by task name (the workers add theirs to ``task_counts`` every few seconds: hotline.ops.worker).

prometheus-flask-exporter was not taken: its request metrics are these few lines, and the database gauges,
the endpoint's protection and the multiprocess registry would have been ours to write all the same.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from hotline.db import utcnow
from hotline.extensions import db
from hotline.ops import health
from hotline.ops.models import Heartbeat, TaskCount

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "<unmatched>"  # the endpoint label of a request that matched no route (a 404, a 405)
_STARTED = "hotline_metrics_started"  # in flask.g

REQUEST_SECONDS = Histogram(
    "hotline_http_request_duration_seconds",
    "Time to answer a web request, by Flask endpoint and method.",
    ["endpoint", "method"],
    registry=None,
)
REQUESTS = Counter(
    "hotline_http_requests",
    "Web requests answered, by Flask endpoint, method and status.",
    ["endpoint", "method", "status"],
    registry=None,
)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def _labels() -> tuple[str, str]:
    rule = request.url_rule
    endpoint = rule.endpoint if rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else "other"
    return endpoint, method


def start_timer() -> None:
    setattr(g, _STARTED, time.perf_counter())


def observe(response: Response) -> Response:
    started = g.get(_STARTED)
    if started is not None:
        endpoint, method = _labels()
        REQUEST_SECONDS.labels(endpoint, method).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
    return response


def init_app(app: Flask) -> None:
    # first of all before_request functions: the time includes the other hooks (login, throttle …)
    app.before_request_funcs.setdefault(None, []).insert(0, start_timer)
    app.after_request(observe)


# --------------------------------------------------------------------------- read from the database


def _unix(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else 0.0


class DatabaseCollector(Collector):
    """The gauges and task counters read from the database at scrape time (in the scrape's app context)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily(
            "hotline_database_up", "Whether the database answered this scrape (1) or not (0)."
        )
        try:
            families = list(self._from_database())
        except SQLAlchemyError:
            health.rollback_quietly()
            up.add_metric([], 0)
            yield up
            return
        health.rollback_quietly()
        up.add_metric([], 1)
        yield up
        yield from families

    def _from_database(self) -> Iterator[Any]:
        config = current_app.config
        now = self.now
        health.bound_statements(int(float(config["HEALTH_DB_TIMEOUT_SECONDS"]) * 1000))

        count, oldest = health.outbox_backlog(now, timedelta(seconds=int(config["HEALTH_OUTBOX_SECONDS"])))
        yield _gauge(
            "hotline_outbox_backlog_messages", "Outbox messages unpublished for over a minute.", count
        )
        yield _gauge(
            "hotline_outbox_backlog_oldest_timestamp_seconds",
            "When the oldest of them was written (unix time; 0: none).",
            _unix(oldest),
        )
        count, oldest = health.unrouted(now, timedelta(seconds=int(config["HEALTH_UNROUTED_SECONDS"])))
        yield _gauge(
            "hotline_unrouted_requests", "Requests still unrouted after HEALTH_UNROUTED_SECONDS.", count
        )
        yield _gauge(
            "hotline_unrouted_oldest_timestamp_seconds",
            "When the oldest of them was submitted (unix time; 0: none).",
            _unix(oldest),
        )
        yield _gauge(
            "hotline_overdue_open_requests",
            "Open requests past their resolve deadline.",
            health.overdue_open(now),
        )

        beats = GaugeMetricFamily(
            "hotline_heartbeat_timestamp_seconds",
            "Last heartbeat (unix time) of each worker, the heartbeat task, beat (its last tick) and the "
            "last successful clock sweep.",
            labels=["component", "name"],
        )
        for row in db.session.execute(select(Heartbeat.component, Heartbeat.name, Heartbeat.seen_at)):
            beats.add_metric([str(row.component), row.name], _unix(row.seen_at))
        yield beats

        runs = CounterMetricFamily(
            "hotline_task_runs", "Task runs in all workers, by task name.", labels=["task"]
        )
        failures = CounterMetricFamily(
            "hotline_task_failures",
            "Task runs that failed (after their retries), by task name.",
            labels=["task"],
        )
        retries = CounterMetricFamily(
            "hotline_task_retries", "Task runs that asked for a retry.", labels=["task"]
        )
        for count_row in db.session.scalars(select(TaskCount).order_by(TaskCount.task_name)):
            runs.add_metric([count_row.task_name], count_row.runs)
            failures.add_metric([count_row.task_name], count_row.failures)
            retries.add_metric([count_row.task_name], count_row.retries)
        yield runs
        yield failures
        yield retries

        ready = GaugeMetricFamily(
            "hotline_check_ok", "Each readiness check of /readyz: 1 passing, 0 failing.", labels=["check"]
        )
        for check in health.work_checks(now, config):
            ready.add_metric([check.name], 1 if check.ok else 0)
        yield ready


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def exposition() -> bytes:
    """The metrics text: this process's (or, in multiprocess mode, every process's) and the database's."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
        registry.register(REQUESTS)
    registry.register(DatabaseCollector(utcnow()))
    return generate_latest(registry)


# --------------------------------------------------------------------------- who may read them


# Loopback and the private ranges a monitoring network uses (RFC 1918, IPv6 unique local).  Not Python's
# ``is_private``, which also counts the documentation ranges and other reserved blocks as private.
INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7")
)


def _internal(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in INTERNAL_NETWORKS)


def allowed() -> bool:
    """Whether this request may read the metrics.

    Outside production: always.  In production with ``METRICS_TOKEN`` set: only with
    ``Authorization: Bearer <METRICS_TOKEN>``, from anywhere.  In production without one: only from a
    loopback or private address, and only if every address in ``X-Forwarded-For`` is one too (a public client
    relayed by the reverse proxy is refused even where the proxy's own address is private).
    """
    config = current_app.config
    if config.get("HOTLINE_ENV") != "production":
        return True
    token = config.get("METRICS_TOKEN") or ""
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    forwarded = [part for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    addresses = [request.remote_addr or "", *forwarded]
    return all(_internal(address) for address in addresses)
