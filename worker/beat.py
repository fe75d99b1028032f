"""Beat's scheduler: Celery's own (``PersistentScheduler``), which also writes beat's heartbeat.

``worker/app.py`` makes it the default (``beat_scheduler``), so ``celery -A worker.app beat`` and the beat
embedded in a worker (``worker -B``) use it with no ``--scheduler`` option.  The heartbeat is written from
the scheduler's loop itself, at most every ``HEALTH_HEARTBEAT_SECONDS``: it proves that beat ticks, not only
that its process exists.  A heartbeat that cannot be written is logged and skipped; scheduling goes on.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from celery.beat import PersistentScheduler

from hotline.db import utcnow
from hotline.ops import heartbeats
from hotline.ops.models import Component


class HeartbeatScheduler(PersistentScheduler):
    """Writes the "beat" heartbeat between ticks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from worker.app import flask_app

        self.flask_app = flask_app
        self.heartbeat_seconds = float(flask_app.config["HEALTH_HEARTBEAT_SECONDS"])
        self.node_name = socket.gethostname()
        self.ticks = 0
        self._next_heartbeat = 0.0
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = float(super().tick(*args, **kwargs))
        self.ticks += 1
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_seconds
            self.write_heartbeat()
        return min(interval, max(0.1, self._next_heartbeat - now))

    def write_heartbeat(self) -> bool:
        details = {"ticks": self.ticks, "entries": len(self.schedule)}
        return heartbeats.write(
            self.flask_app,
            lambda: heartbeats.record(
                Component.BEAT, self.node_name, utcnow(), pid=os.getpid(), details=details
            ),
        )
