"""Routing benchmark: submit→assigned latency and routed requests per second, next to a bare Celery no-op.

Run with ``make bench-routing`` (or ``python -m bench.routing --help``).  It needs the local PostgreSQL on
127.0.0.1:5432 and the ``redis-server`` binary; it creates its own database and starts its own Redis on a free
port, two hotline workers (``celery -A worker.app worker``) and two no-op workers (``bench/noop_app.py``) with
the same concurrency, and removes all of it at the end.

Each run measures, in this order:

* no-op, paced: one task at a time, send → result (the bare Celery round trip on this broker);
* no-op, burst: N tasks sent back to back, tasks per second until the last result;
* routing, paced: one request at a time filed through the service and committed (the after-commit nudge
  publishes it), then polled until assigned; latency is ``assigned_at - created_at`` from the database;
* routing, burst: N requests filed back to back by one submitter; latency per request as above, and routed
  requests per second from the first ``created_at`` to the last ``assigned_at`` (one submitter is the web
  side of this figure);
* routing, queued: N requests filed with the nudge off, then released to the broker at once by the outbox
  relay (which sends a backlog of routing messages several to a ``route_tickets`` task); routed requests
  per second from the release until all N are seen assigned in the database (the workers alone, the
  figure to compare with the no-op burst);
* routing, queued one per task: the same with the relay's batches off (each routing message its own task),
  to show what the batches are worth.

The table shows each run, the median of the runs, and the ratio of the median to the no-op baseline measured
in the same runs (absolute times drift ±25 % between runs on this machine class; ratios are what to compare).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
REDIS_OPTIONS = ("--save", "", "--appendonly", "no", "--daemonize", "no", "--dir")
QUIET_WORKER = ("--without-mingle", "--without-gossip")


# --------------------------------------------------------------------------- small helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(interval)


@contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg

    name = f"hotline_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_URL.format(name=name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def in_private_database(prefix: str, run: Callable[[str, Path], int]) -> int:
    """``run(database_url, folder)`` on a PostgreSQL database and a temporary folder of its own, both removed
    afterwards (whatever happens); its exit status."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with postgres_database() as url:
            return run(url, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def redis_server(folder: Path) -> Iterator[int]:
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    log = (folder / "redis.log").open("wb")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", *REDIS_OPTIONS, str(folder)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def up() -> bool:
        try:
            return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    try:
        wait_until(up, 10, "redis-server")
        yield port
    finally:
        process.kill()
        process.wait()
        log.close()


class Workers:
    """Celery worker processes, each in its own process group, all stopped at the end."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.folder = folder
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, app: str, name: str, concurrency: int) -> None:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            command = [sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel=warning"]
            process = subprocess.Popen(
                [*command, "-n", f"{name}@%h", f"--concurrency={concurrency}", *QUIET_WORKER],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((process, log))

    def stop(self) -> None:
        for process, _log in self.started:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process, _log in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def check_alive(self) -> None:
        for process, log in self.started:
            if process.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"a worker exited with {process.returncode}:\n{tail}")


# --------------------------------------------------------------------------- the hotline side


def seed(now: datetime) -> tuple[list[int], list[str]]:
    """A small district: buildings with a primary liaison each, two enterprises with a contact per building,
    categories, and the working-day calendar.  Returns the contact ids and the category codes."""
    from hotline.auth.models import Role
    from hotline.extensions import db
    from hotline.sla import services as sla
    from tests import factories

    manager = factories.user(Role.MANAGER)
    for year in (now.year - 1, now.year, now.year + 1):  # from chinese-calendar, or Monday to Friday
        sla.enter_year(year, manager, now)
    categories = [factories.category(), factories.category()]
    street = factories.street()
    contacts: list[int] = []
    for _ in range(6):
        building = factories.building(street)
        factories.liaison([building])
        for _ in range(2):
            contacts.append(factories.enterprise_user(factories.enterprise(building)).id)
    db.session.commit()
    return contacts, [c.code for c in categories]


class Hotline:
    def __init__(self, app: Any, quiet_app: Any, contacts: list[int], categories: list[str]) -> None:
        self.app = app
        self.quiet_app = quiet_app  # the same database with the after-commit nudge off
        self.contacts = contacts
        self.categories = categories
        self.counter = 0

    def submit(self, nudge: bool = True) -> int:
        from hotline.auth.models import User
        from hotline.db import utcnow
        from hotline.extensions import db
        from hotline.tickets import services as tickets

        i = self.counter
        self.counter += 1
        with (self.app if nudge else self.quiet_app).app_context():
            try:
                ticket = tickets.submit_ticket(
                    db.session.get(User, self.contacts[i % len(self.contacts)]),
                    category=self.categories[i % len(self.categories)],
                    title=f"基准测试诉求 {i}",
                    description="楼宇停车位不足，希望协调。",
                    contact_phone="13800138000",
                    now=utcnow(),
                )
                ticket_id = int(ticket.id)
                db.session.commit()
                return ticket_id
            finally:
                db.session.remove()

    def release(self, n: int, batched: bool = True) -> datetime:
        """Publish the pending outbox messages through the relay (as the beat job does); returns when.

        ``batched=False`` publishes each routing message to its own task (the relay without its batches),
        for comparison.
        """
        from hotline.db import utcnow
        from hotline.extensions import db
        from hotline.outbox import services as outbox
        from hotline.outbox.publisher import CeleryPublisher
        from hotline.outbox.relay import relay_pending

        publish = CeleryPublisher(self.app.config["CELERY"])
        batching = outbox.BATCHES.get(outbox.ROUTE_TICKET)
        if not batched:
            outbox.BATCHES.pop(outbox.ROUTE_TICKET, None)
        with self.app.app_context():
            try:
                started = utcnow()
                published = relay_pending(publish, started, limit=n)
                db.session.commit()
                assert published == n, f"{published} of {n} published"
                return started
            finally:
                db.session.remove()
                if batching is not None:
                    outbox.BATCHES[outbox.ROUTE_TICKET] = batching

    def timings(self, ids: list[int]) -> list[tuple[datetime, datetime | None]]:
        from sqlalchemy import select

        from hotline.extensions import db
        from hotline.tickets.models import Ticket

        with self.app.app_context():
            try:
                rows = db.session.execute(
                    select(Ticket.created_at, Ticket.assigned_at).where(Ticket.id.in_(ids))
                ).all()
                return [(created, assigned) for created, assigned in rows]
            finally:
                db.session.remove()

    def assigned_count(self, ids: list[int]) -> int:
        return sum(1 for _created, assigned in self.timings(ids) if assigned is not None)


# --------------------------------------------------------------------------- measurements


def noop_paced(noop: Any, n: int) -> list[float]:
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        noop.delay().get(timeout=30)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def noop_burst(noop: Any, n: int) -> float:
    started = time.perf_counter()
    results = [noop.delay() for _ in range(n)]
    for result in results:
        result.get(timeout=60)
    return n / (time.perf_counter() - started)


def routing_paced(hotline: Hotline, n: int, workers: Workers) -> tuple[list[float], list[float]]:
    """One request at a time: submit, then wait for its assignment. Returns (latencies ms, submit ms)."""
    ids, submit_ms = [], []
    for _ in range(n):
        started = time.perf_counter()
        ticket_id = hotline.submit()
        submit_ms.append((time.perf_counter() - started) * 1000)
        ids.append(ticket_id)
        wait_until(lambda t=ticket_id: hotline.assigned_count([t]), 30, "a request assigned", interval=0.002)
    workers.check_alive()
    return _latencies(hotline.timings(ids)), submit_ms


def routing_burst(hotline: Hotline, n: int, workers: Workers) -> tuple[list[float], float]:
    ids = [hotline.submit() for _ in range(n)]
    wait_until(lambda: hotline.assigned_count(ids) == n, 120, f"{n} requests assigned", interval=0.02)
    workers.check_alive()
    timings = hotline.timings(ids)
    first = min(created for created, _ in timings)
    last = max(assigned for _, assigned in timings if assigned is not None)
    return _latencies(timings), n / (last - first).total_seconds()


def routing_queued(hotline: Hotline, n: int, workers: Workers, batched: bool = True) -> float:
    """Routed requests per second from the release to the moment all ``n`` are seen committed.

    Not up to the last ``assigned_at``: a worker stamps a batch of requests with the moment it started
    routing them, so that would leave out the last batch's own time.  The poll every 5 ms adds at most that.
    """
    from hotline.db import utcnow

    ids = [hotline.submit(nudge=False) for _ in range(n)]
    released = hotline.release(n, batched)
    wait_until(lambda: hotline.assigned_count(ids) == n, 120, f"{n} queued requests assigned", interval=0.005)
    done = utcnow()
    workers.check_alive()
    return n / (done - released).total_seconds()


def _latencies(timings: list[tuple[datetime, datetime | None]]) -> list[float]:
    return [
        (assigned - created).total_seconds() * 1000 for created, assigned in timings if assigned is not None
    ]


# --------------------------------------------------------------------------- the run


ROWS = [
    ("noop_p50", "no-op round trip p50 (ms)", "noop_p50"),
    ("noop_p95", "no-op round trip p95 (ms)", "noop_p95"),
    ("noop_rate", "no-op burst (tasks/s)", "noop_rate"),
    ("paced_p50", "routing paced p50 (ms)", "noop_p50"),
    ("paced_p95", "routing paced p95 (ms)", "noop_p95"),
    ("burst_p50", "routing burst p50 (ms)", "noop_p50"),
    ("burst_p95", "routing burst p95 (ms)", "noop_p95"),
    ("burst_rate", "routing burst (requests/s)", "noop_rate"),
    ("queued_rate", "routing queued (requests/s)", "noop_rate"),
    ("queued_single_rate", "routing queued, 1 per task (req/s)", "noop_rate"),
    ("submit_p50", "submit + commit + nudge p50 (ms)", ""),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests (and no-op tasks) per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each kind")
    parser.add_argument("--concurrency", type=int, default=1, help="prefork children per worker")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    try:
        with postgres_database() as database_url, redis_server(folder) as port:
            env = {
                "DATABASE_URL": database_url,
                "REDIS_URL": f"redis://127.0.0.1:{port}/0",
                "HOTLINE_INSTANCE": str(folder / "instance"),
                "HOTLINE_ENV": "development",
                "BENCH_NOOP_REDIS_URL": f"redis://127.0.0.1:{port}/1",
            }
            os.environ.update(env)  # the app in this process is the web side: same configuration
            sys.path.insert(0, str(ROOT))
            return _run(args, env, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, env: dict[str, str], folder: Path) -> int:
    from hotline import create_app
    from hotline.db import utcnow
    from hotline.extensions import db

    app = create_app({"INSTANCE_DIR": env["HOTLINE_INSTANCE"], "PASSWORD_HASH_FAST": True})
    quiet_app = create_app({"INSTANCE_DIR": env["HOTLINE_INSTANCE"], "OUTBOX_NUDGE": False})
    with app.app_context():
        db.create_all()
        contacts, categories = seed(utcnow())
        db.session.remove()
    hotline = Hotline(app, quiet_app, contacts, categories)

    from bench.noop_app import noop

    workers = Workers(env, folder)
    try:
        for i in range(args.workers):
            workers.start("worker.app", f"hotline-{i}", args.concurrency)
            workers.start("bench.noop_app", f"noop-{i}", args.concurrency)
        # Warm up both sides (imports, connections, first queries) before measuring anything.
        wait_until(lambda: noop.delay().get(timeout=60) is None, 60, "no-op workers up")
        noop_paced(noop, 20)
        routing_paced(hotline, 20, workers)

        results: list[dict[str, float]] = []
        for run in range(args.runs):
            noop_ms = noop_paced(noop, args.requests)
            noop_rate = noop_burst(noop, args.requests)
            paced_ms, submit_ms = routing_paced(hotline, args.requests, workers)
            burst_ms, burst_rate = routing_burst(hotline, args.requests, workers)
            queued_rate = routing_queued(hotline, args.requests, workers)
            queued_single_rate = routing_queued(hotline, args.requests, workers, batched=False)
            results.append(
                {
                    "noop_p50": statistics.median(noop_ms),
                    "noop_p95": percentile(noop_ms, 0.95),
                    "noop_rate": noop_rate,
                    "paced_p50": statistics.median(paced_ms),
                    "paced_p95": percentile(paced_ms, 0.95),
                    "burst_p50": statistics.median(burst_ms),
                    "burst_p95": percentile(burst_ms, 0.95),
                    "burst_rate": burst_rate,
                    "queued_rate": queued_rate,
                    "queued_single_rate": queued_single_rate,
                    "submit_p50": statistics.median(submit_ms),
                }
            )
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)
    finally:
        workers.stop()
        for flask_app in (app, quiet_app):
            with flask_app.app_context():
                db.session.remove()
                db.engine.dispose()

    _print_table(args, results)
    return 0


def _print_table(args: argparse.Namespace, results: list[dict[str, float]]) -> None:
    medians = {key: statistics.median(r[key] for r in results) for key in results[0]}
    print(
        f"\nRouting on Redis + PostgreSQL: {args.workers} workers × concurrency {args.concurrency}, "
        f"{args.requests} requests per run, {args.runs} runs (no-op baseline: same broker, same workers)\n"
    )
    runs = "".join(f"{'run ' + str(i + 1):>10}" for i in range(len(results)))
    print(f"{'':36}{runs}{'median':>10}{'vs no-op':>10}")
    for key, label, baseline in ROWS:
        values = "".join(f"{r[key]:>10.1f}" for r in results)
        ratio = f"{medians[key] / medians[baseline]:>9.2f}×" if baseline and key != baseline else f"{'':>10}"
        print(f"{label:36}{values}{medians[key]:>10.1f}{ratio}")
    print(
        "\npaced: one at a time, submit→assigned (assigned_at - created_at, from the database); burst: filed "
        "back to back by one submitter;\nqueued: filed with the nudge off, then released at once by the "
        "relay, routing messages in batches (1 per task: without them), until all are seen assigned (the "
        "workers' own rate).\nRatios: the median over the no-op median."
    )


if __name__ == "__main__":
    raise SystemExit(main())
