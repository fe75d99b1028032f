"""Which broker for the embedded default: no-op tasks through three candidates, one worker each.

Run with ``.venv/bin/python -m bench.embedded_broker`` (``--help`` for the options).  It needs nothing but the
``redis-server`` binary (Debian's ``/usr/bin/redis-server``); everything lives in a temporary folder, removed
at the end.  The candidates:

* ``filesystem``: kombu's filesystem transport, as the embedded default used it (one folder in and out,
  polling every 0.1 s);
* ``sqlalchemy``: kombu's SQLAlchemy transport on a SQLite file (``sqla+sqlite:///…``, polling every 0.1 s);
* ``redis``: a private ``redis-server`` on a free port of 127.0.0.1 with ``appendonly yes`` and
  ``appendfsync everysec`` (what ``make run`` starts).

Each run starts one worker (``celery worker --concurrency=1``, the hotline's worker settings:
``bench/embedded_noop_app.py``), sends N tasks back to back from this process, and waits until the worker
has run all of them (each task appends one byte to a file) or has died, or a deadline passes.  The table
shows, per candidate, the median throughput of the runs (tasks sent until the last one ran), the send rate
(what a web request publishing would meet), and the crashes: a worker that exited, or logged
``Unrecoverable error`` (the filesystem transport's ``JSONDecodeError``, celery/kombu#1551), and the tasks
sent but never run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery

from bench.routing import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ("filesystem", "sqlalchemy", "redis")
QUIET_WORKER = ("--without-mingle", "--without-gossip", "--without-heartbeat")
CRASH_MARKERS = ("Unrecoverable error", "JSONDecodeError", "Traceback")


@dataclass
class Broker:
    url: str
    options: dict[str, Any]
    worker_env: dict[str, str] = field(default_factory=dict)


@contextmanager
def broker(kind: str, folder: Path) -> Iterator[Broker]:
    """The broker ``kind`` in ``folder``: its URL and transport options (a Redis server runs meanwhile)."""
    if kind == "filesystem":
        queue = folder / "broker"
        for sub in ("out", "processed", "control"):
            (queue / sub).mkdir(parents=True)
        yield Broker(
            "filesystem://",
            {
                "data_folder_in": str(queue / "out"),
                "data_folder_out": str(queue / "out"),
                "processed_folder": str(queue / "processed"),
                "control_folder": str(queue / "control"),
                "store_processed": False,
                "polling_interval": 0.1,
            },
        )
    elif kind == "sqlalchemy":
        # polling_interval cannot be a transport option here (kombu hands them all to create_engine):
        # the worker sets it on the transport class (bench/embedded_noop_app.py)
        yield Broker(
            f"sqla+sqlite:///{folder / 'broker.sqlite3'}", {}, {"BENCH_SQLA_POLLING_INTERVAL": "0.1"}
        )
    elif kind == "redis":
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        port = free_port()
        data = folder / "redis"
        data.mkdir()
        log = (folder / "redis.log").open("wb")
        server = subprocess.Popen(
            [
                *(binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--save", ""),
                *("--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_until(lambda: _redis_answers(port), 10, "redis-server ping")
            yield Broker(url, {"visibility_timeout": 3600})
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
    else:
        raise ValueError(kind)


def _redis_answers(port: int) -> bool:
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@dataclass
class Run:
    sent: int
    done: int
    send_seconds: float
    total_seconds: float
    crashed: bool
    exit_code: int | None
    crash_line: str

    @property
    def throughput(self) -> float:
        return self.done / self.total_seconds if self.total_seconds else 0.0


def one_run(kind: str, tasks: int, deadline: float) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"bench-broker-{kind}-") as tmp:
        folder = Path(tmp)
        marks = folder / "marks"
        marks.touch()
        with broker(kind, folder) as b:
            env = {
                **os.environ,
                "BENCH_BROKER_URL": b.url,
                "BENCH_TRANSPORT_OPTIONS": json.dumps(b.options),
                "BENCH_MARK_FILE": str(marks),
                "PYTHONUNBUFFERED": "1",
                **b.worker_env,
            }
            log_path = folder / "worker.log"
            with log_path.open("wb") as log:
                worker = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "celery", "-A", "bench.embedded_noop_app", "worker"),
                        *("--concurrency=1", "--loglevel=info", *QUIET_WORKER),
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                try:
                    wait_until(lambda: " ready." in log_path.read_text(errors="replace"), 60, "worker ready")
                except TimeoutError:
                    print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
                    raise
                client = Celery("bench-sender", broker=b.url, set_as_current=False)
                client.conf.update(
                    task_serializer="json",
                    broker_transport_options=b.options,
                    broker_connection_retry_on_startup=True,
                )
                started = time.monotonic()
                with client.connection_for_write() as connection, client.producer_or_acquire() as producer:
                    del connection
                    for _ in range(tasks):
                        client.send_task("bench.mark", producer=producer)
                send_seconds = time.monotonic() - started
                end = started + deadline
                while marks.stat().st_size < tasks and worker.poll() is None and time.monotonic() < end:
                    time.sleep(0.02)
                total = time.monotonic() - started
                done = marks.stat().st_size
            finally:
                with suppress(ProcessLookupError):
                    os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    with suppress(ProcessLookupError):
                        os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=10)
            text = log_path.read_text(errors="replace")
            crash_line = next(
                (line.strip() for line in text.splitlines() if any(m in line for m in CRASH_MARKERS)), ""
            )
            died = worker.returncode not in (0, -signal.SIGTERM) or bool(crash_line)
            return Run(tasks, done, send_seconds, total, died, worker.returncode, crash_line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=500, help="tasks per run (default 500)")
    parser.add_argument("--runs", type=int, default=3, help="runs per candidate (default 3)")
    parser.add_argument("--deadline", type=float, default=120, help="seconds a run may take (default 120)")
    parser.add_argument("--only", choices=CANDIDATES, action="append", help="run only this candidate")
    args = parser.parse_args(argv)
    kinds = args.only or list(CANDIDATES)
    results: dict[str, list[Run]] = {}
    for kind in kinds:
        results[kind] = []
        for number in range(1, args.runs + 1):
            run = one_run(kind, args.tasks, args.deadline)
            results[kind].append(run)
            state = f"CRASHED (exit {run.exit_code}): {run.crash_line[:100]}" if run.crashed else "ok"
            print(
                f"{kind:<11} run {number}: {run.done}/{run.sent} done in {run.total_seconds:6.2f} s "
                f"({run.throughput:7.1f}/s; sent in {run.send_seconds:5.2f} s) {state}",
                flush=True,
            )
    print()
    print(f"{args.tasks} no-op tasks per run, one worker (--concurrency=1), median of {args.runs} runs")
    print(f"{'broker':<11} {'tasks/s':>8} {'sent/s':>8} {'crashes':>8} {'lost':>6}   tasks/s per run")
    for kind, runs in results.items():
        median = statistics.median(r.throughput for r in runs)
        sent = statistics.median(r.sent / r.send_seconds for r in runs)
        crashes = sum(r.crashed for r in runs)
        lost = sum(r.sent - r.done for r in runs)
        each = " ".join(f"{r.throughput:.0f}" for r in runs)
        print(f"{kind:<11} {median:8.1f} {sent:8.0f} {crashes:8d} {lost:6d}   {each}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
