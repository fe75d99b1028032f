"""Writing heartbeats and task counts (hotline.ops.models), each in a short transaction of its own.

The writers: a worker's main process (:class:`HeartbeatThread`, started by ``worker/app.py`` when the
worker is ready), the heartbeat task beat sends every few seconds (:mod:`hotline.ops.tasks`), the beat
scheduler (``worker/beat.py``), and the end of each clock sweep (a Celery signal, ``hotline.ops.worker``).
The readers: ``/readyz``, the managers' banner and ``/metrics`` (:mod:`hotline.ops.health`).

The functions here flush and do not commit, as services do; the callers commit (:func:`write`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, text
from sqlalchemy.dialects import postgresql, sqlite

from hotline.db import utcnow
from hotline.extensions import db
from hotline.ops.models import Component, Heartbeat, TaskCount

log = logging.getLogger(__name__)

# A heartbeat write waits no longer than this for PostgreSQL (a worker must not hang on its heartbeat).
WRITE_TIMEOUT_MS = 5000
# Heartbeats of names not seen for this long are deleted (workers renamed, machines gone).
KEEP_SILENT = timedelta(days=7)


def _insert(table: Any) -> Any:
    """An INSERT that can be turned into an upsert (``ON CONFLICT … DO UPDATE``) on this database."""
    if db.engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def bound_statements(milliseconds: int) -> None:
    """Limit how long each following statement of the current transaction may run (PostgreSQL only)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"SET LOCAL statement_timeout = {int(milliseconds)}"))


def record(
    component: Component,
    name: str,
    now: datetime,
    pid: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Upsert the heartbeat of ``component`` from ``name``, seen at ``now``.  Flushes, does not commit."""
    table = Heartbeat.__table__
    statement = _insert(table).values(
        component=component.value, name=name[:200], pid=pid, seen_at=now, details=details or {}
    )
    statement = statement.on_conflict_do_update(
        index_elements=["component", "name"],
        set_={
            "pid": statement.excluded.pid,
            "seen_at": statement.excluded.seen_at,
            "details": statement.excluded.details,
        },
    )
    db.session.execute(statement)


def prune(now: datetime) -> int:
    """Delete heartbeats not renewed for a week; returns how many.  Flushes, does not commit."""
    result = db.session.execute(delete(Heartbeat).where(Heartbeat.seen_at < now - KEEP_SILENT))
    return int(getattr(result, "rowcount", 0) or 0)


def add_task_counts(counts: dict[str, tuple[int, int, int]], now: datetime) -> None:
    """Add ``{task name: (runs, failures, retries)}`` to the stored counts.  Flushes, does not commit."""
    table = TaskCount.__table__
    for task_name, (runs, failures, retries) in sorted(counts.items()):  # sorted: no deadlock between writers
        statement = _insert(table).values(
            task_name=task_name[:200], runs=runs, failures=failures, retries=retries, updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["task_name"],
            set_={
                "runs": table.c.runs + statement.excluded.runs,
                "failures": table.c.failures + statement.excluded.failures,
                "retries": table.c.retries + statement.excluded.retries,
                "updated_at": statement.excluded.updated_at,
            },
        )
        db.session.execute(statement)


def write(app: Flask, work: Callable[[], object]) -> bool:
    """Run ``work`` in a short transaction of its own in an app context of ``app``; never raises.

    For callers outside any request or task (a thread, a signal, the beat loop): a heartbeat that cannot be
    written is logged and dropped, and shows as silence in the health checks.  Returns whether it committed.
    """
    try:
        with app.app_context():
            try:
                bound_statements(WRITE_TIMEOUT_MS)
                work()
                db.session.commit()
                return True
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()
    except Exception:
        log.warning("heartbeat not written", exc_info=True)
        return False


class TaskCounter:
    """Task runs, failures and retries counted in this process, handed to the database every few seconds.

    Thread-safe: a worker process with threads (or the solo pool) counts from several places.
    """

    def __init__(self, flush_seconds: float, clock: Callable[[], float]) -> None:
        self.flush_seconds = flush_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}
        self._flushed_at = clock()

    def add(self, task_name: str, state: str | None) -> None:
        """Count a run of ``task_name`` that ended in ``state`` (``SUCCESS``, ``FAILURE``, ``RETRY``)."""
        with self._lock:
            counts = self._counts.setdefault(task_name, [0, 0, 0])
            counts[0] += 1
            if state == "FAILURE":
                counts[1] += 1
            elif state == "RETRY":
                counts[2] += 1

    def due(self) -> bool:
        """Whether the counts should go to the database now (some are waiting and the period has passed)."""
        with self._lock:
            return bool(self._counts) and self.clock() - self._flushed_at >= self.flush_seconds

    def take(self) -> dict[str, tuple[int, int, int]]:
        """The counts since the last take, emptied."""
        with self._lock:
            taken = {name: (c[0], c[1], c[2]) for name, c in self._counts.items()}
            self._counts.clear()
            self._flushed_at = self.clock()
            return taken

    def give_back(self, counts: dict[str, tuple[int, int, int]]) -> None:
        """Put counts back that could not be written (they go with the next flush)."""
        with self._lock:
            for name, (runs, failures, retries) in counts.items():
                mine = self._counts.setdefault(name, [0, 0, 0])
                mine[0] += runs
                mine[1] += failures
                mine[2] += retries

    def flush(self, app: Flask) -> bool:
        """Add the counts taken to the database; on failure they are kept for the next flush."""
        counts = self.take()
        if not counts:
            return True
        if write(app, lambda: add_task_counts(counts, utcnow())):
            return True
        self.give_back(counts)
        return False


class HeartbeatThread(threading.Thread):
    """Writes a worker's heartbeat every ``interval`` seconds until stopped (a daemon thread).

    ``details()`` is called at each beat, for what the heartbeat should say (pid, tasks running …).
    """

    def __init__(
        self,
        app: Flask,
        name: str,
        interval: float,
        details: Callable[[], dict[str, Any]],
        pid: int | None = None,
    ) -> None:
        super().__init__(name="hotline-heartbeat", daemon=True)
        self.app = app
        self.node_name = name
        self.interval = interval
        self.details = details
        self.pid = pid
        self._stop_event = threading.Event()

    def beat(self) -> bool:
        """Write one heartbeat now."""
        details = self.details()
        return write(
            self.app,
            lambda: record(Component.WORKER, self.node_name, utcnow(), pid=self.pid, details=details),
        )

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.beat()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
