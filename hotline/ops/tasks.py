"""The heartbeat task: beat sends it to each queue every few seconds, a worker of that queue runs it — the
proof that each queue's tasks are taken (a routing worker that died is seen even while the others run)."""

from __future__ import annotations

import os

from celery import Task, shared_task

from hotline.celery_app import DEFAULT_QUEUE, in_transaction
from hotline.db import utcnow
from hotline.ops import heartbeats
from hotline.ops.models import Component


@shared_task(bind=True, ignore_result=True, time_limit=30, soft_time_limit=20)
def heartbeat(self: Task) -> None:
    """Write the "tasks" heartbeat of the queue it came through and the worker that ran it, named
    ``<queue>/<worker>`` (and prune heartbeats silent for a week)."""
    queue = str((self.request.delivery_info or {}).get("routing_key") or DEFAULT_QUEUE)
    name = f"{queue}/{self.request.hostname or 'unknown'}"

    def work() -> None:
        now = utcnow()
        heartbeats.bound_statements(heartbeats.WRITE_TIMEOUT_MS)
        heartbeats.record(Component.TASKS, name, now, pid=os.getpid(), details={"task_id": self.request.id})
        heartbeats.prune(now)

    in_transaction(work)
