"""A bare Celery app for bench/embedded_broker.py: one task that appends one byte to a file.

The broker comes from the environment (``BENCH_BROKER_URL``, ``BENCH_TRANSPORT_OPTIONS`` as JSON), so the
same app runs over kombu's filesystem transport, its SQLAlchemy transport and Redis.  There is no result
backend (none of the three would be comparable): the sender counts finished tasks as the size of
``BENCH_MARK_FILE``, to which every task appends one byte with ``O_APPEND`` (one ``write`` of one byte is
atomic).  The worker settings are the hotline's (JSON, acks late, rejected when the worker is lost,
prefetch 1), so what is measured is what the embedded worker would meet.
"""

from __future__ import annotations

import json
import os

from celery import Celery

if os.environ.get("BENCH_SQLA_POLLING_INTERVAL"):
    # kombu's SQLAlchemy transport hands every transport option to create_engine(), which refuses
    # polling_interval: the only way to poll faster than once a second is the class attribute.
    from kombu.transport import sqlalchemy as kombu_sqlalchemy

    kombu_sqlalchemy.Transport.polling_interval = float(os.environ["BENCH_SQLA_POLLING_INTERVAL"])

app = Celery("bench_embedded", broker=os.environ.get("BENCH_BROKER_URL", "memory://"))
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    broker_transport_options=json.loads(os.environ.get("BENCH_TRANSPORT_OPTIONS", "{}")),
)


@app.task(name="bench.mark")
def mark() -> None:
    fd = os.open(os.environ["BENCH_MARK_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, b".")
    finally:
        os.close(fd)
