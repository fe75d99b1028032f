"""A bare Celery app with a no-op task: the baseline bench/routing.py compares routing with.

Same broker and worker settings as the hotline's (JSON, acks late, prefetch 1), plus a Redis result backend
so that the sender can time the round trip.  It uses its own Redis database number, so its queue never
mixes with the hotline's on the same server.
"""

from __future__ import annotations

import os

from celery import Celery

URL = os.environ.get("BENCH_NOOP_REDIS_URL", "redis://127.0.0.1:6379/1")

app = Celery("bench_noop", broker=URL, backend=URL)
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)


@app.task(name="bench.noop")
def noop() -> None:
    return None
