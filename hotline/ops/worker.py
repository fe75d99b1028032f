"""What worker and beat processes add (``worker/app.py`` calls :func:`install` with its application).

- A worker's main process writes its heartbeat every ``HEALTH_HEARTBEAT_SECONDS`` from a thread, from the
  moment it is ready until it shuts down (``worker_ready`` / ``worker_shutdown``).
- Each process that runs tasks counts them (``task_postrun``) and adds the counts to ``task_counts`` every
  ``HEALTH_TASK_COUNTS_SECONDS`` (at once for a failure, and when the process ends); counts of a process
  killed outright since its last flush are lost (at most those few seconds).
- Each successful clock sweep (``task_success`` of ``hotline.sla.tasks.sweep_clocks``) records the "sweep"
  heartbeat: a signal, so the sweep's own code knows nothing of it.
- In JSON mode Celery's log handlers (worker, beat, tasks) get the JSON formatter and the request id.

Beat's own heartbeat is written by its scheduler (``worker/beat.py``).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    task_postrun,
    task_success,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from flask import Flask

from hotline.db import utcnow
from hotline.ops import heartbeats, logs
from hotline.ops.models import Component

log = logging.getLogger(__name__)

SWEEP_TASK = "hotline.sla.tasks.sweep_clocks"


def worker_details() -> dict[str, Any]:
    """What a worker's heartbeat says: its pid, the tasks it is running and has accepted since it started."""
    from celery.worker import state

    return {
        "pid": os.getpid(),
        "active": len(state.active_requests),
        "accepted": int(sum(state.total_count.values())),
    }


def record_sweep(app: Flask, hostname: str | None) -> bool:
    """The "sweep" heartbeat: the clock sweep just succeeded (in this worker process)."""
    name = hostname or socket.gethostname()
    return heartbeats.write(app, lambda: heartbeats.record(Component.SWEEP, name, utcnow(), pid=os.getpid()))


def install(app: Flask) -> None:
    """Connect the worker's and beat's signals for ``app`` (once per process)."""
    config = app.config
    counter = heartbeats.TaskCounter(float(config["HEALTH_TASK_COUNTS_SECONDS"]), time.monotonic)
    threads: list[heartbeats.HeartbeatThread] = []

    def ready(sender: Any = None, **_: Any) -> None:
        hostname = getattr(sender, "hostname", None) or socket.gethostname()
        thread = heartbeats.HeartbeatThread(
            app, hostname, float(config["HEALTH_HEARTBEAT_SECONDS"]), worker_details, pid=os.getpid()
        )
        threads.append(thread)
        thread.start()

    def shutdown(**_: Any) -> None:
        for thread in threads:
            thread.stop()

    def count(sender: Any = None, state: str | None = None, **_: Any) -> None:
        name = getattr(sender, "name", None)
        if not name:
            return
        counter.add(name, state)
        if state == "FAILURE" or counter.due():
            counter.flush(app)

    def flush_at_exit(**_: Any) -> None:
        counter.flush(app)

    def sweep_done(sender: Any = None, result: Any = None, **_: Any) -> None:
        # None: the run found the sweep's lock held by another and did nothing (hotline.celery_app.periodic)
        if getattr(sender, "name", None) == SWEEP_TASK and result is not None:
            record_sweep(app, getattr(getattr(sender, "request", None), "hostname", None))

    def json_logs(logger: logging.Logger | None = None, **_: Any) -> None:
        if logger is not None and config.get("LOG_FORMAT") == "json":
            for handler in logger.handlers:
                logs.use_json(handler)

    for signal, receiver, uid in (
        (worker_ready, ready, "ready"),
        (worker_shutdown, shutdown, "shutdown"),
        (task_postrun, count, "count"),
        (worker_process_shutdown, flush_at_exit, "flush"),
        (task_success, sweep_done, "sweep"),
        (after_setup_logger, json_logs, "logger"),
        (after_setup_task_logger, json_logs, "task-logger"),
    ):
        signal.connect(receiver, weak=False, dispatch_uid=f"hotline.ops.worker.{uid}")
